"""Admin > Security pages (roles, users) and the user's own profile with API tokens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from icb.common.errors import ServiceError
from icb.common.forms import apply_errors, make_read_only
from icb.common.pagination import paginate

from . import selectors, services
from .forms import ApiTokenForm, RoleForm, UserCreateForm, UserEditForm
from .models import Area, Level
from .permissions import allows, area_required

USERS_PAGE_SIZE = 50


def _can_modify(request) -> bool:
    return allows(request.user, Area.SECURITY, Level.MODIFY)


@area_required(Area.SECURITY)
def role_list(request):
    roles = selectors.role_list(company=request.company)
    return render(
        request,
        "tenancy/role_list.html",
        {
            "roles": roles,
            "areas": list(Area),
            "can_modify": _can_modify(request),
        },
    )


@area_required(Area.SECURITY)
def role_edit(request, role_id=None):
    role = None
    if role_id is not None:
        role = selectors.role_get(company=request.company, role_id=role_id)
    form = RoleForm(request.POST or None, instance=role)
    read_only = not _can_modify(request) or (role is not None and role.built_in)
    if request.method == "POST" and form.is_valid():
        try:
            fields = {k: form.cleaned_data[k] for k in RoleForm.Meta.fields}
            saved = services.role_save(
                company=request.company, actor=request.user, role=role, **fields
            )
        except ServiceError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Role “{saved.name}” saved.")
            return redirect("tenancy:roles")
    if read_only:
        make_read_only(form)
    return render(
        request,
        "tenancy/role_form.html",
        {
            "form": form,
            "role": role,
            "areas": list(Area),
            "read_only": read_only,
        },
    )


@area_required(Area.SECURITY)
def user_list(request):
    # A page at a time: a company's users grow, and the page must not grow with them.
    users = paginate(
        selectors.user_list(company=request.company).order_by("email", "id"),
        request.GET.get("page"),
        USERS_PAGE_SIZE,
    )
    form = UserCreateForm(request.POST or None, company=request.company)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(
                company=request.company, actor=request.user, **form.cleaned_data
            )
        except ServiceError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"User {user.email} created.")
            return redirect("tenancy:users")
    return render(
        request,
        "tenancy/user_list.html",
        {
            "page": users,
            "form": form,
            "can_modify": _can_modify(request),
            "show_form": request.method == "POST",
        },
    )


@area_required(Area.SECURITY)
def user_edit(request, user_id):
    member = selectors.user_get(company=request.company, user_id=user_id)
    form = UserEditForm(
        request.POST or None,
        company=request.company,
        initial={"full_name": member.full_name, "role": member.role, "is_active": member.is_active},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(user=member, actor=request.user, **form.cleaned_data)
        except ServiceError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"User {member.email} saved.")
            return redirect("tenancy:users")
    if not _can_modify(request):
        make_read_only(form)
    return render(
        request,
        "tenancy/user_form.html",
        {
            "member": member,
            "form": form,
            "can_modify": _can_modify(request),
        },
    )


@login_required
def profile(request):
    form = ApiTokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and "revoke" in request.POST:
        try:
            services.api_token_revoke(user=request.user, token_id=int(request.POST["revoke"]))
        except (ServiceError, ValueError):
            messages.error(request, "Unknown token.")
        else:
            messages.success(request, "Token revoked.")
        return redirect("tenancy:profile")
    if request.method == "POST" and form.is_valid():
        _, new_token = services.api_token_create(user=request.user, name=form.cleaned_data["name"])
        form = ApiTokenForm()
    tokens = selectors.api_tokens_of(user=request.user)
    return render(
        request,
        "tenancy/profile.html",
        {
            "form": form,
            "tokens": tokens,
            "new_token": new_token,
        },
    )
