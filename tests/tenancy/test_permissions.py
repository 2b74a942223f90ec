import pytest
from django.core.exceptions import PermissionDenied

from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import allows, level_of, require
from tests.factories import make_role, make_user


@pytest.mark.django_db
def test_administrator_has_modify_everywhere(company):
    admin = make_user(company, "a@acme.test", "Administrator")
    assert all(level_of(admin, area) == Level.MODIFY for area in Area)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "level,can_view,can_modify",
    [
        (Level.NONE, False, False),
        (Level.VIEW, True, False),
        (Level.MODIFY, True, True),
    ],
)
def test_levels_are_ordered(company, level, can_view, can_modify):
    role = make_role(company, "Custom", hub_settings=level)
    user = make_user(company, "u@acme.test", role)
    assert allows(user, Area.HUB_SETTINGS, Level.VIEW) is can_view
    assert allows(user, Area.HUB_SETTINGS, Level.MODIFY) is can_modify
    assert allows(user, Area.CONTRACTS, Level.VIEW) is False


@pytest.mark.django_db
def test_inactive_user_or_user_without_company_has_nothing(company):
    user = make_user(company, "u@acme.test", "Administrator")
    user.is_active = False
    assert level_of(user, Area.CONTRACTS) == Level.NONE
    user.is_active, user.company = True, None
    with pytest.raises(PermissionDenied):
        require(user, Area.CONTRACTS, Level.VIEW)
