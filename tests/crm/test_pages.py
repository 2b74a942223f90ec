import re

import pytest

from icb.crm.models import Account
from tests.factories import make_account, make_contract, make_role, make_user

LIST = "/admin/crm/accounts/"
NEW = "/admin/crm/accounts/new/"


def detail(account):
    return f"/admin/crm/accounts/{account.pk}/"


def valid_form(**overrides):
    data = {
        "name": "Harbor Dental",
        "code": "HD",
        "is_active": "on",
        "email": "",
        "phone": "",
        "website": "",
        "address_line1": "",
        "address_line2": "",
        "city": "",
        "region": "",
        "postal_code": "",
        "country": "",
        "notes": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def viewer_client(client, company):
    client.force_login(make_user(company, "ro@acme.test", "Read-only"))
    return client


def test_anonymous_is_sent_to_login(client, company):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_list_shows_own_accounts_with_filters(admin_client, company, other_company):
    make_account(company, "Harbor Dental Group", code="HDG")
    make_account(company, "Summit Law", code="SUM", is_active=False)
    make_account(other_company, "Harbor Theirs", code="HT")

    page = admin_client.get(LIST).content.decode()
    assert "Harbor Dental Group" in page and "Summit Law" in page
    assert "Harbor Theirs" not in page
    assert 'href="/admin/crm/accounts/new/"' in page
    for control in ("id_name", "id_code", "id_active"):
        assert f'<label for="{control}">' in page

    page = admin_client.get(LIST, {"name": "harbor"}).content.decode()
    assert "Harbor Dental Group" in page and "Summit Law" not in page
    page = admin_client.get(LIST, {"active": "false"}).content.decode()
    assert "Summit Law" in page and "Harbor Dental Group" not in page
    page = admin_client.get(LIST, {"code": "hd"}).content.decode()
    assert "Harbor Dental Group" in page and "Summit Law" not in page


def test_bad_filter_values_are_left_out_with_a_message(admin_client, company):
    make_account(company, "Harbor Dental Group", code="HDG")
    response = admin_client.get(LIST, {"active": "bogus", "page": "x" * 5000})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Harbor Dental Group" in html
    assert "Unknown status “bogus”" in html and 'id="id_active_error"' in html
    html = admin_client.get(LIST, {"name": "x" * 300}).content.decode()
    assert "Harbor Dental Group" in html and "at most 200 characters" in html


def test_pagination_keeps_the_filters(admin_client, company):
    Account.objects.bulk_create(
        [Account(company=company, name=f"Harbor {i:03}", code=f"H{i:03}") for i in range(60)]
        + [Account(company=company, name="Zed", code="Z")]
    )
    page = admin_client.get(LIST, {"name": "harbor"}).content.decode()
    assert "Page 1 of 2" in page
    next_link = re.search(r'<a href="([^"]+)" rel="next">', page).group(1)
    assert "name=harbor" in next_link and "page=2" in next_link
    page2 = admin_client.get(LIST + next_link.replace("&amp;", "&")).content.decode()
    assert "Page 2 of 2" in page2
    assert "Harbor 059" in page2 and "Harbor 000" not in page2 and "Zed" not in page2


def test_create_account(admin_client, company):
    response = admin_client.post(NEW, valid_form(name="  Harbor Dental ", code=" HD "))
    account = Account.objects.get(company=company)
    assert response.status_code == 302
    assert response["Location"] == detail(account)
    assert (account.name, account.code, account.is_active) == ("Harbor Dental", "HD", True)


def test_create_form_has_labels_and_csrf(admin_client, company):
    page = admin_client.get(NEW).content.decode()
    assert "csrfmiddlewaretoken" in page
    for field in ("name", "code", "is_active", "email", "website", "notes"):
        assert f'<label for="id_{field}">' in page


def test_create_with_duplicate_code_shows_error_next_to_field(admin_client, company):
    make_account(company, "Existing", code="HD")
    response = admin_client.post(NEW, valid_form(code="hd"))
    assert response.status_code == 200
    page = response.content.decode()
    code_input = re.search(r'<input[^>]*name="code"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in code_input
    assert "id_code_error" in code_input
    assert re.search(r'id="id_code_error"><li>An account with this code already exists.', page)
    assert Account.objects.filter(company=company).count() == 1


def test_create_with_invalid_fields_saves_nothing(admin_client, company):
    response = admin_client.post(NEW, valid_form(name="", code="bad code", email="nope"))
    assert response.status_code == 200
    page = response.content.decode()
    for field in ("name", "code", "email"):
        assert f'id="id_{field}_error"' in page
    assert not Account.objects.exists()


def test_edit_account(admin_client, company):
    account = make_account(company, "Harbor", code="HD")
    response = admin_client.post(
        detail(account), valid_form(name="Harbor Dental Group", city="Boston", is_active="")
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.name, account.city, account.is_active) == (
        "Harbor Dental Group",
        "Boston",
        False,
    )


def test_edit_with_error_keeps_stored_values(admin_client, company):
    make_account(company, "Other", code="OTHER")
    account = make_account(company, "Harbor", code="HD")
    response = admin_client.post(detail(account), valid_form(name="Renamed", code="other"))
    assert response.status_code == 200
    assert 'id="id_code_error"' in response.content.decode()
    account.refresh_from_db()
    assert (account.name, account.code) == ("Harbor", "HD")


def test_detail_shows_tabs_and_contracts(admin_client, company):
    account = make_account(company, "Harbor", code="HD")
    contract = make_contract(account, "Managed Services")
    page = admin_client.get(detail(account)).content.decode()
    assert 'id="tab-general"' in page
    assert re.search(r'role="tab" id="tab-icb" aria-controls="icb-panel"', page)
    assert f'href="/finance/contracts/{contract.pk}/">Managed Services</a>' in page
    assert "Active" in page
    assert re.search(r'id="icb-panel"[^>]*hidden', page)
    assert ">Save</button>" in page


def test_icb_tab_has_the_mapping_section_and_opens_with_tab_param(admin_client, company):
    account = make_account(company, "Harbor", code="HD")
    page = admin_client.get(detail(account), {"tab": "icb"}).content.decode()
    section = re.search(
        r'<section id="itc-integrations-mapping"[^>]*aria-labelledby="([^"]+)"[^>]*>'
        r"(.*?)</section>",
        page,
        re.S,
    )
    assert section
    assert f'<h2 id="{section.group(1)}">ITC Integrations Mapping</h2>' in section.group(2)
    assert "Connect the hub to map this account to organizations." in section.group(2)
    assert not re.search(r'id="icb-panel"[^>]*hidden', page)
    assert re.search(r'id="general-panel"[^>]*hidden', page)
    assert re.search(r'id="tab-icb"\s[^>]*aria-selected="true"', page)
    assert "#itc-integrations-mapping" in page  # the fragment opens the tab too


def test_view_only_user_sees_read_only_pages(viewer_client, company):
    account = make_account(company, "Harbor", code="HD")
    list_page = viewer_client.get(LIST).content.decode()
    assert "Harbor" in list_page
    assert "New account" not in list_page
    page = viewer_client.get(detail(account)).content.decode()
    assert ">Save</button>" not in page
    name_input = re.search(r'<input[^>]*name="name"[^>]*>', page).group(0)
    assert "disabled" in name_input
    assert viewer_client.get(NEW).status_code == 403


def test_view_only_user_cannot_post(viewer_client, company):
    account = make_account(company, "Harbor", code="HD")
    assert viewer_client.post(detail(account), valid_form(name="Changed")).status_code == 403
    assert viewer_client.post(NEW, valid_form(code="NEW")).status_code == 403
    account.refresh_from_db()
    assert account.name == "Harbor"
    assert Account.objects.count() == 1


def test_user_without_permission_gets_403(client, company):
    client.force_login(make_user(company, "none@acme.test", make_role(company, "Nothing")))
    account = make_account(company, "Harbor", code="HD")
    assert client.get(LIST).status_code == 403
    assert client.get(detail(account)).status_code == 403


def test_other_company_account_is_404(admin_client, other_company):
    theirs = make_account(other_company, "Theirs", code="T")
    assert admin_client.get(detail(theirs)).status_code == 404
    assert admin_client.post(detail(theirs), valid_form(name="Mine")).status_code == 404
    assert admin_client.get(f"/admin/crm/accounts/{2**70}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


def test_list_page_query_count_does_not_grow_with_accounts(
    admin_client, company, django_assert_max_num_queries
):
    accounts = Account.objects.bulk_create(
        [Account(company=company, name=f"Account {i:03}", code=f"A{i:03}") for i in range(60)]
    )
    for account in accounts[:5]:
        make_contract(account, "Managed")
    with django_assert_max_num_queries(10):
        response = admin_client.get(LIST)
    assert response.status_code == 200
    assert response.content.decode().count('href="/admin/crm/accounts/') >= 50
