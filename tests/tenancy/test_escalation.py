"""No one but an administrator can grant the Administrator role or a role with more
access than their own, and nobody can raise their own access: through any page, API
route or service. A new page or route that changes users or roles fails
`test_every_route_that_changes_users_or_roles_is_walked` until it is added here."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import get_resolver

from icb.api import api
from icb.tenancy.models import Area, Role, User
from icb.tenancy.services import role_save, user_create, user_update
from tests.factories import make_role, make_user

pytestmark = pytest.mark.django_db

STRONG = "Plenty-Of-Entropy-9"
LEVELS = [a.value for a in Area]


@pytest.fixture
def setup(company):
    """A security officer (Security & Integrations: modify, the rest: view), a colleague,
    an administrator, and a custom role at the officer's level."""
    officer_role = make_role(
        company,
        "Security officer",
        crm_accounts="view",
        contracts="view",
        hub_settings="view",
        security="modify",
        billing_review="view",
        invoicing="view",
    )
    peer_role = make_role(company, "Peer", security="modify")
    officer = make_user(company, "officer@acme.test", officer_role)
    colleague = make_user(company, "colleague@acme.test", "Read-only")
    admin = make_user(company, "admin@acme.test", "Administrator")
    roles = {r.name: r for r in Role.objects.filter(company=company)}
    return {
        "company": company,
        "officer": officer,
        "colleague": colleague,
        "admin": admin,
        "officer_role": officer_role,
        "peer_role": peer_role,
        "roles": roles,
    }


def _snapshot(company):
    users = dict(User.objects.filter(company=company).values_list("email", "role_id"))
    actives = dict(User.objects.filter(company=company).values_list("email", "is_active"))
    roles = {
        r["name"]: r
        for r in Role.objects.filter(company=company).values("name", "is_administrator", *LEVELS)
    }
    return users, actives, roles


def _user_form(user, role, **extra):
    return {"full_name": user.full_name, "role": role.pk, "is_active": "on", **extra}


def _role_form(name, **levels):
    return {"name": name, "description": "", **{a: levels.get(a, "none") for a in LEVELS}}


def _attempts(s):
    """(page, form data, what it tries) for every way to gain more access."""
    r = s["roles"]
    officer, colleague, admin = s["officer"], s["colleague"], s["admin"]
    own = s["officer_role"]
    everything = dict.fromkeys(LEVELS, "modify")
    return [
        (
            f"/admin/security/users/{officer.pk}/",
            _user_form(officer, r["Administrator"]),
            "make oneself Administrator",
        ),
        (
            f"/admin/security/users/{officer.pk}/",
            _user_form(officer, r["Finance"]),
            "give oneself a role with more (Finance: modify where the officer views)",
        ),
        (
            f"/admin/security/users/{colleague.pk}/",
            _user_form(colleague, r["Administrator"]),
            "make a colleague Administrator",
        ),
        (
            f"/admin/security/users/{colleague.pk}/",
            _user_form(colleague, r["Finance"]),
            "give a colleague more than one has",
        ),
        (
            "/admin/security/users/",
            {"email": "new@acme.test", "role": r["Administrator"].pk, "password": STRONG},
            "create an Administrator",
        ),
        (
            "/admin/security/users/",
            {"email": "new@acme.test", "role": r["Finance"].pk, "password": STRONG},
            "create a user with more than one has",
        ),
        (
            f"/admin/security/users/{admin.pk}/",
            _user_form(admin, r["Read-only"]),
            "demote an administrator",
        ),
        (
            f"/admin/security/users/{admin.pk}/",
            {"full_name": "", "role": r["Administrator"].pk},
            "deactivate an administrator",
        ),
        (
            f"/admin/security/roles/{own.pk}/",
            _role_form(own.name, **everything),
            "raise the levels of the role one holds",
        ),
        (
            f"/admin/security/roles/{own.pk}/",
            _role_form(own.name, **{**everything, "crm_accounts": "view"}),
            "raise one area of the role one holds",
        ),
        (
            "/admin/security/roles/new/",
            _role_form("Superuser", **everything),
            "create a role with more than one has",
        ),
        (
            f"/admin/security/roles/{s['peer_role'].pk}/",
            _role_form("Peer", security="modify", contracts="modify"),
            "raise another role above one's own",
        ),
        (
            f"/admin/security/roles/{r['Administrator'].pk}/",
            _role_form("Administrator", **everything),
            "edit the built-in Administrator role",
        ),
    ]


# (method, route) that can change users or roles → how the walk covers it.
CHANGING_ROUTES = {
    "admin/security/users/": "create",
    "admin/security/users/<int:user_id>/": "edit user",
    "admin/security/roles/new/": "create role",
    "admin/security/roles/<int:role_id>/": "edit role",
}


def _page_routes():
    routes = set()

    def walk(patterns, prefix=""):
        for p in patterns:
            if hasattr(p, "url_patterns"):
                walk(p.url_patterns, prefix + str(p.pattern))
            else:
                routes.add(prefix + str(p.pattern))

    walk(get_resolver().url_patterns)
    return routes


def test_every_route_that_changes_users_or_roles_is_walked():
    pages = {r for r in _page_routes() if "security/users" in r or "security/roles" in r}
    assert pages - {"admin/security/roles/"} == set(CHANGING_ROUTES)
    api_routes = [
        path
        for router_prefix, router in api._routers
        for path in router.path_operations
        if any(word in path for word in ("user", "role", "member", "permission"))
    ]
    assert api_routes == [], "an API route changes users or roles: walk it here"


def test_no_non_administrator_can_gain_more_access_through_a_page(setup):
    company = setup["company"]
    client = Client()
    client.force_login(setup["officer"])
    before = _snapshot(company)
    for url, data, what in _attempts(setup):
        response = client.post(url, data)
        assert response.status_code in (403, 200), what  # refused, or the form's own error
        assert _snapshot(company) == before, what
    officer = User.objects.get(pk=setup["officer"].pk)
    assert not officer.is_administrator


def test_the_refusal_says_why(setup):
    client = Client()
    client.force_login(setup["officer"])
    r = setup["roles"]
    response = client.post(
        f"/admin/security/users/{setup['officer'].pk}/",
        _user_form(setup["officer"], r["Administrator"]),
    )
    assert response.status_code == 403
    assert "Only administrators may grant the Administrator role." in response.content.decode()
    response = client.post(
        "/admin/security/roles/new/", _role_form("Superuser", **dict.fromkeys(LEVELS, "modify"))
    )
    assert response.status_code == 403
    assert "more access than your own" in response.content.decode()


def test_within_their_own_levels_a_security_officer_still_manages_users_and_roles(setup):
    company = setup["company"]
    client = Client()
    client.force_login(setup["officer"])
    r = setup["roles"]
    created = client.post(
        "/admin/security/users/",
        {"email": "viewer@acme.test", "role": r["Read-only"].pk, "password": STRONG},
    )
    assert created.status_code == 302
    same = client.post(
        "/admin/security/roles/new/",
        _role_form("Officer twin", crm_accounts="view", contracts="view", security="modify"),
    )
    assert same.status_code == 302
    twin = Role.objects.get(company=company, name="Officer twin")
    moved = client.post(
        f"/admin/security/users/{setup['colleague'].pk}/", _user_form(setup["colleague"], twin)
    )
    assert moved.status_code == 302
    # Lowering the role one holds is allowed (it lowers one's own access).
    own = setup["officer_role"]
    lowered = client.post(
        f"/admin/security/roles/{own.pk}/",
        _role_form(own.name, crm_accounts="view", security="modify"),
    )
    assert lowered.status_code == 302
    assert Role.objects.get(pk=own.pk).contracts == "none"


def test_an_administrator_grants_the_administrator_role(setup):
    client = Client()
    client.force_login(setup["admin"])
    r = setup["roles"]
    response = client.post(
        f"/admin/security/users/{setup['colleague'].pk}/",
        _user_form(setup["colleague"], r["Administrator"]),
    )
    assert response.status_code == 302
    assert User.objects.get(pk=setup["colleague"].pk).is_administrator
    response = client.post(
        "/admin/security/roles/new/", _role_form("Everything", **dict.fromkeys(LEVELS, "modify"))
    )
    assert response.status_code == 302


def test_the_services_refuse_too(setup):
    company, officer, colleague = setup["company"], setup["officer"], setup["colleague"]
    r = setup["roles"]
    with pytest.raises(PermissionDenied):
        user_update(
            user=officer, actor=officer, full_name="", role=r["Administrator"], is_active=True
        )
    with pytest.raises(PermissionDenied):
        user_update(user=colleague, actor=officer, full_name="", role=r["Finance"], is_active=True)
    with pytest.raises(PermissionDenied):
        user_create(
            company=company,
            actor=officer,
            email="x@acme.test",
            full_name="",
            role=r["Administrator"],
            password=STRONG,
        )
    with pytest.raises(PermissionDenied):
        role_save(
            company=company,
            actor=officer,
            role=setup["officer_role"],
            name="Security officer",
            contracts="modify",
        )
    with pytest.raises(PermissionDenied):
        role_save(company=company, actor=officer, name="New", crm_accounts="modify")
    assert not User.objects.get(pk=officer.pk).is_administrator
    assert Role.objects.get(pk=setup["officer_role"].pk).contracts == "view"


def test_the_actor_s_own_levels_are_the_stored_ones(setup):
    """Editing the role one holds through the very object one's user carries must not
    make the check compare the new levels with themselves."""
    officer = User.objects.select_related("role").get(pk=setup["officer"].pk)
    with pytest.raises(PermissionDenied):
        role_save(company=setup["company"], actor=officer, role=officer.role, contracts="modify")
    assert Role.objects.get(pk=setup["officer_role"].pk).contracts == "view"
