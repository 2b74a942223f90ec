"""The words and small layout rules of the pages a new user reads first."""

import re

import pytest

from tests.factories import make_account, make_hub_connection, make_module

pytestmark = pytest.mark.django_db


def _html(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def test_home_tiles_name_a_group_once(admin_client):
    html = _html(admin_client, "/")
    kickers = re.findall(r'<span class="card-kicker">([^<]*)</span>', html)
    assert "Finance" in kickers and "Admin › CRM" in kickers
    assert not [k for k in kickers if k.count("›") and len(set(k.split(" › "))) == 1]
    assert "Finance › Finance" not in html


@pytest.mark.parametrize(
    ("url", "trail"),
    [
        ("/admin/integrations/hub/", "Admin › Integrations › Integration Hub"),
        ("/admin/security/roles/", "Admin › Security › Roles"),
        ("/admin/security/users/", "Admin › Security › Users"),
    ],
)
def test_admin_pages_have_breadcrumbs(admin_client, url, trail):
    html = _html(admin_client, url)
    crumbs = re.search(r'<nav class="breadcrumbs" aria-label="Breadcrumbs">(.*?)</nav>', html)
    assert crumbs and crumbs.group(1) == trail


def test_the_role_select_asks_for_a_role(admin_client, admin_user):
    for url in ("/admin/security/users/", f"/admin/security/users/{admin_user.pk}/"):
        html = _html(admin_client, url)
        assert "---------" not in html
        assert re.search(r'<option value=""( selected)?>Choose a role…</option>', html)


@pytest.mark.parametrize(
    "url",
    ["/admin/security/roles/new/", "/finance/contracts/new/", "/admin/crm/accounts/new/"],
)
def test_cancel_is_a_secondary_button_beside_save(admin_client, url):
    html = _html(admin_client, url)
    actions = re.search(r'<div class="form-actions">(.*?)</div>', html, re.S)
    assert actions, "no form-actions row"
    assert re.search(
        r'<button class="primary" type="submit">|<button type="submit" class="primary">',
        actions.group(1),
    )
    assert re.search(r'<a class="button" href="[^"]+">Cancel</a>', actions.group(1))


def test_the_user_form_cancel_is_a_button(admin_client, admin_user):
    html = _html(admin_client, f"/admin/security/users/{admin_user.pk}/")
    assert re.search(r'<a class="button" href="/admin/security/users/">Cancel</a>', html)


def test_requires_setup_reads_as_a_sentence(admin_client, company):
    account = make_account(company, "Harbor Dental Group", "HARBOR")
    html = _html(admin_client, f"/admin/crm/accounts/{account.pk}/?tab=icb")
    assert "integration Set up" not in html
    assert "This requires a connection to Integration Hub." in html


def test_itc_is_explained_where_the_account_section_is_titled(admin_client, company):
    make_hub_connection(company)
    make_module(company, "rmm", "RMM")
    account = make_account(company, "Harbor Dental Group", "HARBOR")
    html = _html(admin_client, f"/admin/crm/accounts/{account.pk}/?tab=icb")
    section = re.search(r'<section id="itc-integrations-mapping"(.*?)</section>', html, re.S)
    assert section
    heading = section.group(1).index("ITC Integrations Mapping</h2>")
    meaning = section.group(1).index(
        '<abbr title="Integrated Customer Billing">ITC</abbr> is Integrated Customer Billing'
    )
    assert heading < meaning
