"""One way to reach a company's rows: `Model.objects.for_company(company)`.

Every model holding tenant data uses `CompanyQuerySet` (or a subclass naming the way to
its company) as its manager, and selectors start their reads there, so another
company's id is never found. tests/tenancy/test_scoping.py keeps every such model on it."""

from typing import Self, TypeVar

from django.db import models

_M = TypeVar("_M", bound=models.Model)


class CompanyQuerySet(models.QuerySet[_M]):
    # The lookup from a row to its company; a model that reaches its company through a
    # parent (an API token through its user) names that path in a subclass.
    company_lookup = "company"

    def for_company(self, company: models.Model | int | None) -> Self:
        """The rows of `company` (a Company or its id); none for no company."""
        if company is None:
            return self.none()
        return self.filter(**{self.company_lookup: company})


class UserOwnedQuerySet(CompanyQuerySet[_M]):
    """Rows that belong to a user, and through the user to a company."""

    company_lookup = "user__company"


class ModuleOwnedQuerySet(CompanyQuerySet[_M]):
    """Rows that belong to a hub module, and through it to a company."""

    company_lookup = "module__company"
