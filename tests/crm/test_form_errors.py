"""An account form names every invalid field in one submit: a field the form refuses and
one only the service can judge (a code already taken) are shown together."""

import re

import pytest

from tests.factories import make_account

pytestmark = pytest.mark.django_db


def _errors_of(html: str) -> dict[str, str]:
    found = {}
    for match in re.finditer(r'<ul class="errorlist" id="([^"]+)_error">(.*?)</ul>', html, re.S):
        found[match.group(1)] = re.sub(r"<[^>]+>", " ", match.group(2)).strip()
    return found


def test_new_account_shows_a_missing_name_and_a_taken_code_together(admin_client, company):
    make_account(company, "Harbor Dental Group", "HARBOR")
    response = admin_client.post(
        "/admin/crm/accounts/new/", {"name": "", "code": "harbor", "email": "not-an-email"}
    )
    errors = _errors_of(response.content.decode())
    assert set(errors) == {"id_name", "id_code", "id_email"}
    assert "already exists" in errors["id_code"]


def test_editing_an_account_shows_every_error(admin_client, company):
    make_account(company, "Harbor Dental Group", "HARBOR")
    cedar = make_account(company, "Cedar Law Partners", "CEDAR")
    response = admin_client.post(
        f"/admin/crm/accounts/{cedar.pk}/", {"name": "", "code": "HARBOR", "is_active": "on"}
    )
    errors = _errors_of(response.content.decode())
    assert set(errors) == {"id_name", "id_code"}
    cedar.refresh_from_db()
    assert (cedar.name, cedar.code) == ("Cedar Law Partners", "CEDAR")
