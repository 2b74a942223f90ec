"""Admin > My Company > Billing settings: the company's billing defaults and the revenue
account code per module. Administrators only: they change every contract's invoices."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from icb.common.errors import InvalidInput
from icb.common.forms import posted_values
from icb.tenancy.permissions import administrator_required

from . import selectors, services
from .forms import BillingDefaultsForm


def _module_codes(request, modules) -> dict[int, str]:
    return {m.pk: request.POST.get(f"module_{m.pk}", "")[:200] for m in modules}


def _apply(form, exc: InvalidInput) -> dict[str, list[str]]:
    """The service's messages onto the form's fields (those the form has not refused
    already); the modules' are returned for the table."""
    module_errors = {}
    for field, field_messages in exc.field_errors.items():
        if field.startswith("module_"):
            module_errors[field] = field_messages
        elif field not in form.errors:
            for message in field_messages:
                form.add_error(field if field in form.fields else None, message)
    return module_errors


@administrator_required
@require_http_methods(["GET", "HEAD", "POST"])
def billing_settings(request):
    company = request.company
    modules = list(selectors.billing_modules(company=company))
    module_errors: dict[str, list[str]] = {}
    if request.method == "POST":
        form = BillingDefaultsForm(request.POST)
        codes = _module_codes(request, modules)
        try:
            if form.is_valid():
                services.billing_defaults_update(
                    company=company, actor=request.user, module_codes=codes, **form.cleaned_data
                )
                messages.success(request, "The billing settings were saved.")
                return redirect("invoicing:settings")
            # The form refused some fields: the service still names what it refuses.
            services.billing_defaults_check(
                company=company, module_codes=codes, **posted_values(form)
            )
        except InvalidInput as exc:
            module_errors = _apply(form, exc)
        for module in modules:
            module.revenue_account_code = codes[module.pk]
    else:
        form = BillingDefaultsForm(
            initial={name: getattr(company, name) for name in services.DEFAULT_FIELDS}
        )
    rows = [(module, module_errors.get(f"module_{module.pk}", [])) for module in modules]
    return render(
        request,
        "invoicing/settings.html",
        {"form": form, "rows": rows, "module_errors": module_errors},
    )
