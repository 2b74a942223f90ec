import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icb.crm.models import Account
from icb.tenancy.models import Level
from icb.tenancy.services import api_token_create
from tests.factories import make_account, make_role, make_user

URL = "/api/v1/accounts"


@pytest.fixture
def api(client, admin_user):
    _, raw = api_token_create(user=admin_user, name="tests")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return client


def bearer_client(client, user):
    _, raw = api_token_create(user=user, name="tests")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return client


def post(client, data, url=URL):
    return client.post(url, data, content_type="application/json")


def patch(client, url, data):
    return client.patch(url, data, content_type="application/json")


def test_requires_authentication(client, company):
    assert client.get(URL).status_code == 401
    client.defaults["HTTP_AUTHORIZATION"] = "Bearer icb_wrong"
    assert client.get(URL).status_code == 401


def test_create_returns_201_with_account_json(api, company):
    response = post(
        api,
        {
            "name": " Harbor Dental ",
            "code": "HD",
            "email": "ap@harbor.test",
            "active": False,
            "city": "Boston",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id",
        "name",
        "code",
        "active",
        "email",
        "phone",
        "website",
        "address_line1",
        "address_line2",
        "city",
        "region",
        "postal_code",
        "country",
        "notes",
        "tax_rate",
        "accounting_contact_name",
        "overrides",
        "created_at",
        "updated_at",
    }
    assert body["name"] == "Harbor Dental"
    assert body["active"] is False
    account = Account.objects.get(pk=body["id"])
    assert account.company == company and account.city == "Boston"


def test_get_one(api, company):
    account = make_account(company, "Harbor Dental", code="HD")
    body = api.get(f"{URL}/{account.pk}").json()
    assert (body["id"], body["name"], body["code"], body["active"]) == (
        account.pk,
        "Harbor Dental",
        "HD",
        True,
    )


def test_list_filters_and_pagination(api, company, other_company):
    for i in range(5):
        make_account(company, f"Harbor {i}", code=f"H{i}", is_active=i != 3)
    make_account(company, "Summit Law", code="SUM")
    make_account(other_company, "Harbor Theirs", code="HT")

    body = api.get(URL, {"name": "harbor", "page_size": 2, "page": 2}).json()
    assert (body["count"], body["page"], body["pages"], body["page_size"]) == (5, 2, 3, 2)
    assert [a["name"] for a in body["items"]] == ["Harbor 2", "Harbor 3"]

    body = api.get(URL, {"active": "false"}).json()
    assert [a["code"] for a in body["items"]] == ["H3"]
    body = api.get(URL, {"code": "su", "active": "true"}).json()
    assert [a["code"] for a in body["items"]] == ["SUM"]
    assert api.get(URL).json()["count"] == 6


def test_page_past_the_end_is_clamped(api, company):
    make_account(company, "Only", code="ONLY")
    body = api.get(URL, {"page": 99}).json()
    assert body["page"] == 1 and body["items"][0]["code"] == "ONLY"


@pytest.mark.parametrize(
    "params,field",
    [
        ({"active": "maybe"}, "active"),
        ({"page": "abc"}, "page"),
        ({"page": 0}, "page"),
        ({"page_size": 100000}, "page_size"),
        ({"name": "x" * 5000}, "name"),
    ],
)
def test_bad_list_parameters_are_422(api, company, params, field):
    response = api.get(URL, params)
    assert response.status_code == 422
    assert field in response.json()["errors"]


def test_patch_changes_only_sent_fields(api, company):
    account = make_account(company, "Harbor Dental", code="HD", city="Boston")
    response = patch(api, f"{URL}/{account.pk}", {"active": False, "name": "Harbor  "})
    assert response.status_code == 200, response.content
    assert response.json()["active"] is False
    account.refresh_from_db()
    assert (account.name, account.is_active, account.city, account.code) == (
        "Harbor",
        False,
        "Boston",
        "HD",
    )


def test_other_company_account_is_404(api, other_company):
    theirs = make_account(other_company, "Theirs", code="T")
    for response in (
        api.get(f"{URL}/{theirs.pk}"),
        patch(api, f"{URL}/{theirs.pk}", {"name": "Mine now"}),
        api.get(f"{URL}/999999"),
        api.get(f"{URL}/{2**70}"),
    ):
        assert response.status_code == 404
        # The same answer for another company's account and for none at all.
        assert response.json() == {
            "detail": "Unknown account.",
            "code": "not_found",
            "errors": {},
        }
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


@pytest.mark.parametrize(
    "body,field",
    [
        ({"name": "", "code": "A"}, "name"),
        ({"name": "   ", "code": "A"}, "name"),
        ({"name": "A", "code": "has space"}, "code"),
        ({"name": "A", "code": "-lead"}, "code"),
        ({"name": "A", "code": "A", "email": "nope"}, "email"),
        ({"name": "A", "code": "A", "website": "not a url"}, "website"),
        ({"name": "x" * 100_000, "code": "A"}, "name"),
        ({"name": "A", "code": "C" * 41}, "code"),
        ({"name": "A", "code": "A", "notes": "n" * 20_000}, "notes"),
        ({"name": 123, "code": "A"}, "name"),
        ({"name": "A", "code": ["A"]}, "code"),
        ({"name": "A", "code": "A", "active": "maybe"}, "active"),
        ({"name": "A", "code": "A", "phone": None}, "phone"),
        ({"name": "A\u0000", "code": "A"}, "name"),
        ({"code": "A"}, "name"),
    ],
)
def test_invalid_create_is_422_naming_the_field(api, company, body, field):
    response = post(api, body)
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
    assert response.json()["detail"]
    assert not Account.objects.exists()


def test_duplicate_code_is_422(api, company):
    make_account(company, "Harbor", code="HD")
    response = post(api, {"name": "Other", "code": "hd"})
    assert response.status_code == 422
    assert response.json()["errors"] == {"code": ["An account with this code already exists."]}
    assert response.json()["code"] == "duplicate_code"


@pytest.mark.parametrize("raw", ["", "not json", "[]", "null", '"text"', "{"])
def test_missing_or_malformed_body_is_4xx(api, company, raw):
    response = api.post(URL, raw, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "body,field",
    [
        ({"name": None}, "name"),
        ({"code": None}, "code"),
        ({"active": None}, "active"),
        ({"email": "bad"}, "email"),
        ({"code": "OTHER"}, "code"),
    ],
)
def test_invalid_patch_is_422_and_changes_nothing(api, company, body, field):
    make_account(company, "Other", code="OTHER")
    account = make_account(company, "Harbor", code="HD")
    response = patch(api, f"{URL}/{account.pk}", {"city": "Paris", **body})
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
    account.refresh_from_db()
    assert account.city == ""


@pytest.mark.parametrize("levels", [{}, {"crm_accounts": Level.VIEW}])
def test_writes_need_modify(client, company, levels):
    user = make_user(company, "limited@acme.test", make_role(company, "Limited", **levels))
    api = bearer_client(client, user)
    account = make_account(company, "Harbor", code="HD")
    assert post(api, {"name": "New", "code": "NEW"}).status_code == 403
    assert patch(api, f"{URL}/{account.pk}", {"name": "Changed"}).status_code == 403
    assert Account.objects.count() == 1
    account.refresh_from_db()
    assert account.name == "Harbor"


def test_reads_need_view(client, company):
    account = make_account(company, "Harbor", code="HD")
    nobody = bearer_client(client, make_user(company, "no@acme.test", make_role(company, "No")))
    assert nobody.get(URL).status_code == 403
    assert nobody.get(f"{URL}/{account.pk}").status_code == 403


def test_view_role_can_read(client, company):
    account = make_account(company, "Harbor", code="HD")
    viewer = bearer_client(client, make_user(company, "ro@acme.test", "Read-only"))
    assert viewer.get(URL).json()["count"] == 1
    assert viewer.get(f"{URL}/{account.pk}").status_code == 200


def test_session_auth_needs_csrf_for_writes(client, admin_user, company):
    csrf_client = client.__class__(enforce_csrf_checks=True)
    csrf_client.force_login(admin_user)
    assert csrf_client.get(URL).status_code == 200
    assert post(csrf_client, {"name": "A", "code": "A"}).status_code == 403
    assert not Account.objects.exists()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=5,
)
account_fields = st.sampled_from(
    ["name", "code", "active", "email", "website", "phone", "notes", "id", "company"]
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.dictionaries(account_fields, json_values | st.text(max_size=300)))
def test_any_json_body_gets_201_or_422_never_500(api, company, body):
    response = post(api, body)
    assert response.status_code in (201, 422), (body, response.content)
    if response.status_code == 422:
        assert response.json()["errors"]
    account = Account.objects.filter(company=company, code="TARGET").first() or make_account(
        company, "Target", code="TARGET"
    )
    response = patch(api, f"{URL}/{account.pk}", body)
    assert response.status_code in (200, 422), (body, response.content)


@pytest.mark.parametrize(
    "path",
    [
        f"{URL}/abc",
        f"{URL}/-1",
        f"{URL}/0",
        f"{URL}/1.5",
        f"{URL}/{'9' * 400}",
        f"{URL}?page={'9' * 30}",
        f"{URL}?page_size=abc",
        f"{URL}?active=",
        f"{URL}?name=%00",
    ],
)
def test_odd_urls_are_never_500(api, company, path):
    assert api.get(path).status_code in (200, 404, 422)
