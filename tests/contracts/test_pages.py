"""Finance > Contracts pages with the Django test client."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from icb.contracts.models import Contract, Service, ServiceUnitChange
from tests.factories import make_account, make_contract, make_service

pytestmark = pytest.mark.django_db


def _html(response) -> str:
    return response.content.decode()


def _input(html: str, control_id: str) -> str:
    """The tag of the form control with this id."""
    match = re.search(rf'<(?:input|select|textarea)[^>]*id="{control_id}"[^>]*>', html)
    assert match, f"no control {control_id}"
    return match.group(0)


# --- list ----------------------------------------------------------------------------


def test_list_shows_contracts_with_filters_and_new_button(admin_client, company, contract, service):
    make_contract(make_account(company, "Zephyr Law", "ZEPH"), "Legal IT", status="ended")
    response = admin_client.get(reverse("contracts:list"))
    html = _html(response)
    assert response.status_code == 200
    assert "Managed Services" in html and "Legal IT" in html
    assert "450.00 USD" in html  # total of the contract's services
    assert 'href="/finance/contracts/new/"' in html
    assert '<label for="contract-search">' in html and '<label for="contract-status">' in html

    filtered = _html(admin_client.get(reverse("contracts:list"), {"q": "zeph"}))
    assert "Legal IT" in filtered and "Managed Services" not in filtered
    by_status = _html(admin_client.get(reverse("contracts:list"), {"status": "active"}))
    assert "Managed Services" in by_status and "Legal IT" not in by_status


def test_list_paginates_and_keeps_filters(admin_client, account):
    for i in range(30):
        make_contract(account, f"Contract {i:02d}")
    html = _html(admin_client.get(reverse("contracts:list"), {"q": "harbor"}))
    assert "Page 1 of 2" in html
    assert "?q=harbor&amp;page=2" in html
    page2 = _html(admin_client.get(reverse("contracts:list"), {"q": "harbor", "page": "2"}))
    assert "Contract 29" in page2 and "Contract 00" not in page2


def test_list_needs_login(client):
    response = client.get(reverse("contracts:list"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


# --- create --------------------------------------------------------------------------


def test_new_contract_form_defaults_to_company_currency_and_searches_accounts(
    admin_client, company, account
):
    company.currency = "EUR"
    company.save()
    html = _html(admin_client.get(reverse("contracts:create")))
    assert re.search(r'<option value="EUR" selected>', html)
    # The account is searched as you type (tests/contracts/test_account_picker.py).
    assert 'data-search-url="/api/v1/contracts/account-options"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_create_contract_by_form(admin_client, account):
    response = admin_client.post(
        reverse("contracts:create"),
        {
            "account_id": account.pk,
            "name": "Backup",
            "start_date": "2026-02-01",
            "end_date": "",
            "billing_frequency": "quarterly",
            "currency": "USD",
            "status": "active",
        },
    )
    contract = Contract.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("contracts:detail", args=[contract.pk])
    assert (contract.name, contract.billing_frequency, contract.end_date) == (
        "Backup",
        "quarterly",
        None,
    )


def test_create_contract_errors_show_next_to_the_field(admin_client, account):
    response = admin_client.post(
        reverse("contracts:create"),
        {
            "account_id": account.pk,
            "name": "Backup",
            "start_date": "2026-02-01",
            "end_date": "2026-01-01",
            "billing_frequency": "monthly",
            "currency": "USD",
            "status": "active",
        },
    )
    html = _html(response)
    assert response.status_code == 200
    assert not Contract.objects.exists()
    tag = _input(html, "contract-end_date")
    assert 'aria-invalid="true"' in tag
    assert "contract-end_date_error" in tag
    assert re.search(
        r'id="contract-end_date_error"[^>]*>\s*<li>The end date cannot be before', html
    )


# --- detail and add service ----------------------------------------------------------


def test_detail_shows_header_tabs_and_billing_information(admin_client, contract, service):
    html = _html(admin_client.get(reverse("contracts:detail", args=[contract.pk])))
    assert "Harbor Dental Group" in html and "Monthly" in html and "2026-01-01" in html
    assert 'role="tab"' in html and "Billing Information" in html
    assert 'id="add-service-dialog"' in html and "Add Service" in html
    assert re.search(r"<button[^>]*data-open-dialog=\"add-service-dialog\"[^>]*>Add</button>", html)
    assert 'id="icb-tab-panel"' in html
    assert "Integrated Customer Billing settings appear here once the hub is connected." in html
    assert '<label for="service-unit_price">Unit price (USD)' in html
    service_url = reverse("contracts:service_detail", args=[contract.pk, service.pk])
    assert f'href="{service_url}"' in html
    assert "45.00 USD" in html and "450.00 USD" in html
    # General is the first tab; the billing panel starts hidden.
    assert re.search(r'id="contract-billing-panel"[^>]*hidden', html)


def test_detail_tab_billing_opens_billing_information(admin_client, contract):
    html = _html(
        admin_client.get(reverse("contracts:detail", args=[contract.pk]), {"tab": "billing"})
    )
    assert re.search(r'id="contract-general-panel"[^>]*hidden', html)
    assert not re.search(r'id="contract-billing-panel"[^>]*hidden', html)
    assert "data-open-on-load" not in html


def test_add_service_redirects_to_billing_tab_with_message(admin_client, contract, admin_user):
    response = admin_client.post(
        reverse("contracts:service_create", args=[contract.pk]),
        {"name": "Backup", "unit_price": "12.50", "units": "4", "description": ""},
        follow=True,
    )
    assert (
        response.redirect_chain[-1][0]
        == reverse("contracts:detail", args=[contract.pk]) + "?tab=billing"
    )
    assert "Service “Backup” was added." in _html(response)
    service = Service.objects.get()
    assert (service.unit_price, service.units) == (Decimal("12.50"), Decimal("4"))
    assert ServiceUnitChange.objects.get(service=service).user == admin_user


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("units", "-1", "Units cannot be negative."),
        ("units", "abc", "not a number"),
        ("units", "1.234", "at most 2 decimal places"),
        ("unit_price", "NaN", "not a number"),
        ("name", "", "This field is required."),
    ],
)
def test_add_service_errors_reopen_the_dialog_and_save_nothing(
    admin_client, contract, field, value, message
):
    data = {"name": "Backup", "unit_price": "12.50", "units": "4"}
    data[field] = value
    response = admin_client.post(reverse("contracts:service_create", args=[contract.pk]), data)
    html = _html(response)
    assert response.status_code == 200
    assert not Service.objects.exists()
    assert re.search(r'<dialog id="add-service-dialog"[^>]*data-open-on-load', html)
    tag = _input(html, f"service-{field}")
    assert 'aria-invalid="true"' in tag and f"service-{field}_error" in tag
    error_list = re.search(rf'<ul class="errorlist" id="service-{field}_error">(.*?)</ul>', html)
    assert error_list and message in error_list.group(1)
    assert f'value="{value}"' in html or field == "name"  # the input is kept


def test_service_create_of_another_companys_contract_is_404(admin_client, other_contract):
    response = admin_client.post(
        reverse("contracts:service_create", args=[other_contract.pk]),
        {"name": "X", "unit_price": "1", "units": "1"},
    )
    assert response.status_code == 404
    assert not Service.objects.filter(contract=other_contract).exists()


def test_edit_contract_on_general_tab(admin_client, contract):
    response = admin_client.post(
        reverse("contracts:detail", args=[contract.pk]),
        {
            "account_id": contract.account_id,
            "name": "Managed Services Plus",
            "start_date": "2026-01-01",
            "end_date": "",
            "billing_frequency": "yearly",
            "currency": "USD",
            "status": "active",
        },
    )
    assert response.status_code == 302
    contract.refresh_from_db()
    assert (contract.name, contract.billing_frequency) == ("Managed Services Plus", "yearly")


# --- service page --------------------------------------------------------------------


def test_service_page_edit_units_adds_a_history_row(admin_client, contract, service, admin_user):
    url = reverse("contracts:service_detail", args=[contract.pk, service.pk])
    response = admin_client.post(
        url, {"name": service.name, "unit_price": "45.00", "units": "12", "description": ""}
    )
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.units == Decimal("12")
    change = ServiceUnitChange.objects.filter(service=service).first()
    assert (change.old_units, change.new_units, change.user) == (
        Decimal("10"),
        Decimal("12"),
        admin_user,
    )

    html = _html(admin_client.get(url))
    assert "Unit history" in html
    assert "Changed by admin@acme.test" in html
    assert "Service created by admin@acme.test" in html
    assert "12.00" in html and "10.00" in html
    assert 'id="icb-tab-panel"' in html
    assert 'data-confirm="End the service' in html  # it has a unit history: ended, not deleted


def test_service_page_shows_times_in_the_company_zone(admin_client, company, contract, service):
    company.time_zone = "Asia/Tokyo"
    company.save()
    when = datetime.datetime(2026, 3, 1, 15, 30, tzinfo=datetime.UTC)
    ServiceUnitChange.objects.filter(service=service).update(changed_at=when)
    url = reverse("contracts:service_detail", args=[contract.pk, service.pk])
    html = _html(admin_client.get(url))
    assert "2026-03-02 00:30 JST" in html  # 15:30 UTC is 00:30 the next day in Tokyo
    assert timezone.get_current_timezone_name() == "UTC"  # deactivated after the request


def test_service_page_bad_units_are_shown_and_nothing_changes(admin_client, contract, service):
    url = reverse("contracts:service_detail", args=[contract.pk, service.pk])
    response = admin_client.post(url, {"name": service.name, "unit_price": "45.00", "units": "-5"})
    html = _html(response)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in _input(html, "service-units")
    assert "Units cannot be negative." in html
    service.refresh_from_db()
    assert service.units == Decimal("10")
    assert ServiceUnitChange.objects.filter(service=service).count() == 1


def test_delete_service(admin_client, contract, service):
    url = reverse("contracts:service_delete", args=[contract.pk, service.pk])
    assert admin_client.get(url).status_code == 405
    response = admin_client.post(url)
    assert response.status_code == 302
    assert response["Location"].endswith("?tab=billing")
    assert not Service.objects.filter(pk=service.pk).exists()


def test_service_of_another_contract_is_404(admin_client, account, contract, service):
    second = make_contract(account, "Second")
    url = reverse("contracts:service_detail", args=[second.pk, service.pk])
    assert admin_client.get(url).status_code == 404
    assert (
        admin_client.post(
            reverse("contracts:service_delete", args=[second.pk, service.pk])
        ).status_code
        == 404
    )
    assert Service.objects.filter(pk=service.pk).exists()


@pytest.mark.parametrize(
    "name, args",
    [
        ("contracts:detail", ["c"]),
        ("contracts:service_detail", ["c", "s"]),
    ],
)
def test_another_companys_pages_are_404(admin_client, other_service, name, args):
    ids = {"c": other_service.contract_id, "s": other_service.pk}
    url = reverse(name, args=[ids[a] for a in args])
    assert admin_client.get(url).status_code == 404
    assert (
        admin_client.post(url, {"name": "Mine", "unit_price": "1", "units": "1"}).status_code == 404
    )
    other_service.refresh_from_db()
    assert other_service.name == "Their Service"


def test_huge_ids_in_urls_are_404(admin_client):
    assert admin_client.get(f"/finance/contracts/{10**30}/").status_code == 404
    assert admin_client.get(f"/finance/contracts/1/services/{10**30}/").status_code == 404


# --- read-only users -----------------------------------------------------------------


def test_view_only_user_sees_pages_read_only(viewer_client, contract, service):
    html = _html(viewer_client.get(reverse("contracts:detail", args=[contract.pk])))
    assert "Managed Workstations" in html
    assert "data-open-dialog" not in html and 'id="add-service-dialog"' not in html
    assert ">Save</button>" not in html
    assert "disabled" in _input(html, "contract-name")
    list_html = _html(viewer_client.get(reverse("contracts:list")))
    assert "New contract" not in list_html
    service_html = _html(
        viewer_client.get(reverse("contracts:service_detail", args=[contract.pk, service.pk]))
    )
    assert ">Delete</button>" not in service_html and ">Save</button>" not in service_html
    assert "disabled" in _input(service_html, "service-units")
    assert viewer_client.get(reverse("contracts:create")).status_code == 403


def test_view_only_user_posts_are_403(viewer_client, contract, service):
    posts = [
        (reverse("contracts:create"), {"name": "x"}),
        (reverse("contracts:detail", args=[contract.pk]), {"name": "x"}),
        (
            reverse("contracts:service_create", args=[contract.pk]),
            {"name": "x", "unit_price": "1", "units": "1"},
        ),
        (reverse("contracts:service_detail", args=[contract.pk, service.pk]), {"units": "1"}),
        (reverse("contracts:service_delete", args=[contract.pk, service.pk]), {}),
    ]
    for url, data in posts:
        assert viewer_client.post(url, data).status_code == 403, url
    assert Service.objects.count() == 1
    service.refresh_from_db()
    assert service.units == Decimal("10")


def test_pages_post_without_csrf_are_refused(admin_user, contract):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(
        reverse("contracts:service_create", args=[contract.pk]),
        {"name": "x", "unit_price": "1", "units": "1"},
    )
    assert response.status_code == 403
    assert not Service.objects.exists()


def test_every_form_control_has_a_label(admin_client, contract, service):
    for url in (
        reverse("contracts:list"),
        reverse("contracts:create"),
        reverse("contracts:detail", args=[contract.pk]),
        reverse("contracts:service_detail", args=[contract.pk, service.pk]),
    ):
        html = _html(admin_client.get(url))
        controls = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*>', html)
        assert controls, url
        for tag in controls:
            control_id = re.search(r'id="([^"]+)"', tag)
            assert control_id, (url, tag)
            assert f'<label for="{control_id.group(1)}"' in html, (url, tag)


def test_many_services_are_listed(admin_client, contract):
    for i in range(3):
        make_service(contract, f"Line {i}", unit_price="1.10", units="3")
    html = _html(admin_client.get(reverse("contracts:detail", args=[contract.pk])))
    assert html.count(f'href="/finance/contracts/{contract.pk}/services/') == 3
    assert "9.90 USD" in html  # 3 × 3.30


def test_an_unknown_status_is_shown_not_silently_matching_nothing(admin_client, contract):
    response = admin_client.get(reverse("contracts:list"), {"status": "gone"})
    assert response.status_code == 200
    html = _html(response)
    assert "Unknown status “gone”. Choose one of: active, on_hold, ended." in html
    assert "Managed Services" in html  # the refused filter is left out, not "no contracts"
    assert 'aria-invalid="true"' in _input(html, "contract-status")
