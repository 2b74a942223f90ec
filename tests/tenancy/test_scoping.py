"""Every tenant model is reached through one company-scoped queryset method
(`Model.objects.for_company(company)`), so a selector cannot forget the company."""

import pytest
from django.apps import apps

from icb.tenancy.models import ApiToken, Company
from icb.tenancy.scoping import CompanyQuerySet
from icb.tenancy.services import api_token_create
from tests.factories import make_account, make_user

# Models that hold no tenant rows of their own.
UNSCOPED = {Company}


def _icb_models():
    return [m for m in apps.get_models() if m.__module__.startswith("icb.")]


def test_every_model_with_a_company_field_has_for_company():
    with_company = [
        m for m in _icb_models() if any(f.name == "company" for f in m._meta.get_fields())
    ]
    assert len(with_company) >= 12
    missing = [
        m.__name__
        for m in with_company
        if not isinstance(m._default_manager.all(), CompanyQuerySet)
    ]
    assert not missing, f"give these models CompanyQuerySet as their manager: {missing}"


def test_every_other_tenant_model_reaches_its_company_too():
    missing = [
        m.__name__
        for m in _icb_models()
        if m not in UNSCOPED and not isinstance(m._default_manager.all(), CompanyQuerySet)
    ]
    assert not missing, f"scope these models (CompanyQuerySet or a subclass): {missing}"


@pytest.mark.django_db
def test_for_company_keeps_each_company_to_itself(company, other_company):
    mine = make_account(company, "Mine", code="M")
    make_account(other_company, "Theirs", code="T")
    accounts = type(mine).objects
    assert list(accounts.for_company(company)) == [mine]
    assert list(accounts.for_company(company.pk)) == [mine]
    assert not accounts.for_company(None).exists()
    # Through a parent: an API token belongs to its user's company.
    _, _ = api_token_create(user=make_user(company, "a@acme.test"), name="mine")
    _, _ = api_token_create(user=make_user(other_company, "b@rival.test"), name="theirs")
    assert [t.name for t in ApiToken.objects.for_company(company)] == ["mine"]
    # Every model's lookup names a real path to the company.
    for model in _icb_models():
        if model not in UNSCOPED:
            model._default_manager.for_company(company).count()
