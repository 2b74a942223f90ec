import re

import pytest

from icb.mapping.models import Mapping
from icb.mapping.services import CellChange, apply_changes, set_columns
from tests.factories import make_account

# Where the hub is needed but not connected: what is missing, and the link to set it up.
REQUIRES_SETUP = (
    "This requires a connection to Integration Hub. "
    '<a href="/admin/integrations/hub/">Set up the connection</a>'
)
PAGE = "/admin/my-company/hub-settings/"


def detail(account):
    return f"/admin/crm/accounts/{account.pk}/"


def section_of(html):
    found = re.search(r'<section id="itc-integrations-mapping".*?</section>', html, re.S)
    assert found
    return found.group(0)


@pytest.fixture
def mapped(company, admin_user, orgs, accounts):
    apply_changes(
        company=company,
        user=admin_user,
        changes=[
            CellChange(accounts["harbor"].pk, "rmm", add=["R-100", "R-101"]),
            CellChange(accounts["harbor"].pk, "backup", add=["B-1"]),
        ],
    )


def test_not_connected_shows_requires_setup(admin_client, accounts, modules):
    html = admin_client.get(PAGE).content.decode()
    assert REQUIRES_SETUP in html
    assert 'href="/admin/integrations/hub/"' in html
    assert "data-mapping-root" not in html


def test_page_shows_accounts_chosen_columns_chips_and_not_mapped(
    admin_client, admin_user, connected, mapped, accounts
):
    set_columns(user=admin_user, modules=["rmm", "backup"])
    response = admin_client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Organization Mapping</h1>" in html
    assert re.search(r'<th scope="col">RMM</th>\s*<th scope="col">Backup</th>', html)
    assert "Documentation</th>" not in html  # not a chosen column
    assert html.count("data-cell ") == 3 * 2
    assert 'data-org-id="R-100"' in html and 'data-org-id="R-101"' in html
    assert ">Not mapped<" in html
    assert 'aria-label="Choose columns"' in html
    assert "data-mapping-save" in html and "data-can-modify" in html
    assert "mapping/mapping.js" in html
    # The remove buttons are the script's (tests/e2e/test_mapping.py uses them): without
    # it they could not work, and the page shows hundreds of chips.
    assert "chip-remove" not in html


def test_page_flags_removed_and_inactive_organizations(
    admin_client, admin_user, connected, mapped, orgs
):
    orgs["harbor"].removed_at = "2026-03-01T00:00:00Z"
    orgs["harbor"].status = "inactive"
    orgs["harbor"].save()
    set_columns(user=admin_user, modules=["rmm"])
    html = admin_client.get(PAGE).content.decode()
    assert "chip is-removed is-inactive" in html
    assert "Removed from Integration Hub" in html and ">Inactive</span>" in html


def test_filters_and_pagination(admin_client, company, connected, modules):
    for i in range(55):
        make_account(company, f"Client {i:03}", f"C{i:03}", is_active=i % 5 != 0)
    html = admin_client.get(PAGE).content.decode()
    assert html.count('<th scope="row">') == 50 and "Page 1 of 2" in html
    html = admin_client.get(PAGE, {"page": 2}).content.decode()
    assert html.count('<th scope="row">') == 5
    html = admin_client.get(PAGE, {"name": "client 01"}).content.decode()
    assert html.count('<th scope="row">') == 10
    html = admin_client.get(PAGE, {"code": "C054"}).content.decode()
    assert html.count('<th scope="row">') == 1
    html = admin_client.get(PAGE, {"active": "false"}).content.decode()
    assert html.count('<th scope="row">') == 11


def test_page_query_count_is_constant(
    admin_client, company, connected, modules, django_assert_max_num_queries
):
    rmm = modules["rmm"]
    from tests.factories import make_org

    for i in range(60):
        account = make_account(company, f"Client {i:03}", f"C{i:03}")
        Mapping.objects.create(
            company=company,
            account=account,
            module=rmm,
            organization=make_org(rmm, f"O-{i}", f"Org {i}"),
        )
    # 12, two for the company's default columns (its stored choice, mapping counts), and
    # the menu's Billing review count
    with django_assert_max_num_queries(15):
        assert admin_client.get(PAGE).status_code == 200


def test_view_user_sees_a_read_only_page(client, viewer, connected, mapped):
    set_columns(user=viewer, modules=["rmm"])
    client.force_login(viewer)
    html = client.get(PAGE).content.decode()
    assert 'data-org-id="R-100"' in html
    assert "data-mapping-save" not in html and "data-can-modify" not in html
    assert "data-open-picker" not in html and "data-remove" not in html
    assert "Your role can view the mapping but not change it." in html
    assert 'aria-label="Choose columns"' in html


def test_no_permission_is_403_and_posting_needs_modify(client, outsider, viewer, connected):
    client.force_login(outsider)
    assert client.get(PAGE).status_code == 403
    client.force_login(viewer)
    assert client.post(PAGE).status_code in (403, 405)


def test_page_needs_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_account_section_shows_every_module_and_is_editable(
    admin_client, connected, mapped, accounts
):
    html = section_of(admin_client.get(detail(accounts["harbor"]), {"tab": "icb"}).content.decode())
    assert "ITC Integrations Mapping" in html
    assert html.count("data-cell ") == 4  # every module, not only three
    assert 'data-org-id="R-100"' in html and 'data-org-id="B-1"' in html
    assert "Save mapping" in html and "data-open-picker" in html
    assert "Recent mapping changes" in html
    assert "admin@acme.test added Harbor Dental East" in html
    # the module by its name, not its code
    assert '<span class="mono">R-101</span> in RMM</li>' in html
    assert "(rmm)" not in html


def test_the_column_chooser_offers_the_company_default_to_administrators_only(
    admin_client, client, viewer, connected, mapped
):
    html = admin_client.get(PAGE).content.decode()
    assert 'data-default-url="/api/v1/mappings/columns/default"' in html
    assert ">Make the company default</button>" in html
    assert "Company default: RMM, Backup, Documentation" in html
    assert "the modules with the most mappings" in html
    client.force_login(viewer)
    html = client.get(PAGE).content.decode()
    assert "data-default-url" not in html and "Make the company default" not in html
    assert "Company default: RMM, Backup, Documentation" in html


def test_account_section_is_read_only_for_view_users(client, viewer, connected, mapped, accounts):
    client.force_login(viewer)
    html = section_of(client.get(detail(accounts["harbor"])).content.decode())
    assert 'data-org-id="R-100"' in html
    assert "Save mapping" not in html and "data-open-picker" not in html


def test_account_section_without_permission_shows_no_access(
    client, outsider, connected, mapped, accounts
):
    client.force_login(outsider)
    response = client.get(detail(accounts["harbor"]))
    assert response.status_code == 200  # the account page is CRM's
    html = section_of(response.content.decode())
    assert "no access" in html and "data-org-id" not in html


def test_account_section_not_connected_links_to_setup(admin_client, accounts, modules):
    html = section_of(admin_client.get(detail(accounts["harbor"])).content.decode())
    assert REQUIRES_SETUP in html
    assert "data-cell" not in html


def test_mapping_page_links_to_the_accounts_section(admin_client, connected, mapped, accounts):
    html = admin_client.get(PAGE).content.decode()
    assert (
        f'href="/admin/crm/accounts/{accounts["harbor"].pk}/?tab=icb#itc-integrations-mapping"'
    ) in html


def test_a_chip_costs_the_page_little(admin_client, admin_user, connected, modules, accounts):
    """The page shows hundreds of chips (50 accounts × 3 modules × their organizations):
    each adds its name and id and little else, so a first page stays far below 200 KB."""
    from tests.factories import make_org

    set_columns(user=admin_user, modules=["rmm"])
    harbor = accounts["harbor"].pk
    ids = [f"R-{n:04d}" for n in range(40)]
    for external_id in ids:
        make_org(modules["rmm"], external_id, f"Organization {external_id}")
    before = len(admin_client.get(PAGE).content)
    apply_changes(
        company=accounts["harbor"].company,
        user=admin_user,
        changes=[CellChange(harbor, "rmm", add=ids)],
    )
    after = admin_client.get(PAGE).content.decode()
    assert all(f'data-org-id="{external_id}"' in after for external_id in ids)
    # Each chip shows "Organization R-0000" (19 characters) and "R-0000" (6) once; the
    # markup around them (its id attribute, two spans) was ~390 bytes, a remove button
    # and data attributes repeating the name included, and is ~110 now.
    markup = (len(after.encode()) - before) / len(ids) - 19 - 6
    assert markup < 120, markup
