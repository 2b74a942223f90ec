import re

import pytest
from django.test import Client

from icb.tenancy.models import Role, User
from tests.factories import PASSWORD, make_role, make_user


@pytest.mark.django_db
def test_login_and_lockout(company):
    make_user(company, "a@acme.test")
    client = Client()
    response = client.post("/login/", {"username": "a@acme.test", "password": PASSWORD})
    assert response.status_code == 302
    bad = Client()
    for _ in range(5):
        bad.post("/login/", {"username": "b@acme.test", "password": "nope"}, REMOTE_ADDR="10.0.0.9")
    locked = bad.post(
        "/login/", {"username": "b@acme.test", "password": "nope"}, REMOTE_ADDR="10.0.0.9"
    )
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content


@pytest.mark.django_db
def test_forms_need_csrf(company):
    admin = make_user(company, "a@acme.test")
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    response = client.post("/admin/security/roles/new/", {"name": "X"})
    assert response.status_code == 403
    assert not Role.objects.filter(name="X").exists()


@pytest.mark.django_db
def test_admin_creates_view_only_role_and_user(admin_client, company):
    levels = {
        "crm_accounts": "view",
        "contracts": "none",
        "hub_settings": "view",
        "security": "none",
        "billing_review": "view",
        "invoicing": "view",
    }
    response = admin_client.post(
        "/admin/security/roles/new/", {"name": "Mapping viewer", "description": "", **levels}
    )
    assert response.status_code == 302
    role = Role.objects.get(company=company, name="Mapping viewer")
    assert role.hub_settings == "view" and role.contracts == "none"
    response = admin_client.post(
        "/admin/security/users/",
        {
            "email": "viewer@acme.test",
            "full_name": "Val Viewer",
            "role": role.pk,
            "password": "Plenty-Of-Entropy-9",
        },
    )
    assert response.status_code == 302
    viewer = User.objects.get(email="viewer@acme.test")
    assert viewer.role == role and viewer.company == company
    # The new user's menu has CRM but not Contracts or Security.
    client = Client()
    client.force_login(viewer)
    home = client.get("/").content.decode()
    assert "/admin/crm/accounts/" in home
    assert "/finance/contracts/" not in home and "/admin/security/roles/" not in home
    assert client.get("/admin/security/roles/").status_code == 403


@pytest.mark.django_db
def test_user_form_errors_show_next_to_field(admin_client, company):
    response = admin_client.post(
        "/admin/security/users/",
        {
            "email": "not-an-email",
            "role": Role.objects.get(company=company, name="Finance").pk,
            "password": "x",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-invalid="true"' in html and "Enter a valid email address." in html
    assert not User.objects.filter(email="not-an-email").exists()


@pytest.mark.django_db
def test_security_view_level_is_read_only(company):
    role = make_role(company, "Auditor", security="view")
    auditor = make_user(company, "audit@acme.test", role)
    client = Client()
    client.force_login(auditor)
    page = client.get("/admin/security/users/").content.decode()
    assert "New user" not in page
    response = client.post(
        "/admin/security/users/",
        {"email": "x@acme.test", "role": role.pk, "password": "Plenty-Of-Entropy-9"},
    )
    assert response.status_code == 403
    assert not User.objects.filter(email="x@acme.test").exists()


@pytest.mark.django_db
def test_other_company_role_and_user_are_404(admin_client, other_company):
    foreign_admin = make_user(other_company, "boss@rival.test")
    foreign_role = Role.objects.get(company=other_company, name="Finance")
    assert admin_client.get(f"/admin/security/users/{foreign_admin.pk}/").status_code == 404
    assert admin_client.get(f"/admin/security/roles/{foreign_role.pk}/").status_code == 404
    listing = admin_client.get("/admin/security/users/").content.decode()
    assert "boss@rival.test" not in listing


@pytest.mark.django_db
def test_profile_token_shown_once_then_revoked(admin_client, admin_user):
    response = admin_client.post("/profile/", {"name": "PSA export"})
    html = response.content.decode()
    token = admin_user.api_tokens.get()
    assert "Copy this token now" in html and token.prefix in html
    api = Client()
    raw = html.split('id="new-token">')[1].split("<")[0]
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    assert raw not in admin_client.get("/profile/").content.decode()
    admin_client.post("/profile/", {"revoke": token.pk})
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


@pytest.mark.django_db
def test_times_shown_in_company_time_zone(company):
    from icb.tenancy.services import api_token_create

    company.time_zone = "Asia/Tokyo"
    company.save()
    user = make_user(company, "tz@acme.test")
    token, _ = api_token_create(user=user, name="t")
    client = Client()
    client.force_login(user)
    html = client.get("/profile/").content.decode()
    from zoneinfo import ZoneInfo

    shown = token.created_at.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M")
    assert shown in html


def _add_users(company, count: int, start: int) -> None:
    role = Role.objects.get(company=company, name="Read-only")
    User.objects.bulk_create(
        User(company=company, role=role, email=f"user{i:04d}@acme.test", password="!")
        for i in range(start, start + count)
    )


def test_the_users_page_does_not_grow_with_the_number_of_users(admin_client, company):
    """A page of 50 users, in email order, whatever the company's number of users."""
    _add_users(company, 59, start=0)  # with the administrator: 60
    first = admin_client.get("/admin/security/users/").content.decode()
    _add_users(company, 940, start=59)  # 1,000: admin@, then user0000@ to user0998@
    assert User.objects.filter(company=company).count() == 1000
    large = admin_client.get("/admin/security/users/").content.decode()
    assert abs(len(large) - len(first)) <= 16, (len(first), len(large))
    assert len(re.findall(r'href="/admin/security/users/\d+/"', large)) == 50
    assert "Page 1 of 20 · 1000 in all" in large
    last = admin_client.get("/admin/security/users/", {"page": 20}).content.decode()
    assert "user0949@acme.test" in last and "user0998@acme.test" in last
    assert "user0000@acme.test" not in last and "user0000@acme.test" in large
