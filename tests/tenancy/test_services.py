import pytest

from icb.common.errors import InvalidInput, NotFound
from icb.tenancy.models import ApiToken, Company, Role, User
from icb.tenancy.services import (
    api_token_create,
    api_token_revoke,
    api_token_user,
    bootstrap_company,
    role_save,
    user_create,
    user_update,
)
from tests.factories import make_user

STRONG = "Plenty-Of-Entropy-9"


@pytest.mark.django_db
def test_bootstrap_is_idempotent():
    c1, u1, created1 = bootstrap_company(
        name="Demo MSP", time_zone="Europe/Berlin", email="Admin@Demo.test", password=STRONG
    )
    c2, u2, created2 = bootstrap_company(
        name="Demo MSP", time_zone="Europe/Berlin", email="admin@demo.test", password=STRONG
    )
    assert created1 and not created2
    assert (c1.pk, u1.pk) == (c2.pk, u2.pk)
    assert u1.email == "admin@demo.test" and u1.is_administrator
    assert Company.objects.count() == 1
    assert set(Role.objects.filter(company=c1).values_list("name", flat=True)) == {
        "Administrator",
        "Finance",
        "Read-only",
    }


@pytest.mark.django_db
def test_bootstrap_refuses_bad_time_zone_and_weak_password():
    with pytest.raises(InvalidInput) as exc:
        bootstrap_company(name="X", time_zone="Mars/Olympus", email="a@x.test", password=STRONG)
    assert "time_zone" in exc.value.errors
    with pytest.raises(InvalidInput) as exc:
        bootstrap_company(name="Y", time_zone="UTC", email="a@y.test", password="123")
    assert "password" in exc.value.errors
    assert not Company.objects.filter(name__in=["X", "Y"]).exists()


@pytest.mark.django_db
def test_role_names_unique_per_company_and_built_ins_locked(company, other_company, admin_user):
    role_save(company=company, actor=admin_user, name="Auditor", hub_settings="view")
    with pytest.raises(InvalidInput) as exc:
        role_save(company=company, actor=admin_user, name="auditor")
    assert "name" in exc.value.errors
    rival = make_user(other_company, "boss@rival.test")
    role_save(company=other_company, actor=rival, name="Auditor")  # the name may be reused
    admin_role = Role.objects.get(company=company, name="Administrator")
    with pytest.raises(InvalidInput):
        role_save(
            company=company,
            actor=admin_user,
            role=admin_role,
            name="Administrator",
            contracts="none",
        )


@pytest.mark.django_db
def test_custom_role_cannot_be_made_administrator(company, admin_user):
    role = role_save(company=company, actor=admin_user, name="Sneaky", is_administrator=True)
    assert role.is_administrator is False


@pytest.mark.django_db
def test_user_create_validates(company, other_company, admin_user):
    role = Role.objects.get(company=company, name="Read-only")
    user = user_create(
        company=company,
        actor=admin_user,
        email=" Viewer@Acme.test ",
        full_name="V",
        role=role,
        password=STRONG,
    )
    assert user.email == "viewer@acme.test" and user.check_password(STRONG)
    with pytest.raises(InvalidInput) as exc:
        user_create(
            company=company,
            actor=admin_user,
            email="viewer@acme.test",
            full_name="",
            role=role,
            password=STRONG,
        )
    assert "email" in exc.value.errors
    with pytest.raises(InvalidInput) as exc:
        user_create(
            company=company,
            actor=admin_user,
            email="weak@acme.test",
            full_name="",
            role=role,
            password="password",
        )
    assert "password" in exc.value.errors
    foreign_role = Role.objects.get(company=other_company, name="Administrator")
    with pytest.raises(NotFound):
        user_create(
            company=company,
            actor=admin_user,
            email="x@acme.test",
            full_name="",
            role=foreign_role,
            password=STRONG,
        )
    assert User.objects.filter(company=company).count() == 2  # the admin and the viewer


@pytest.mark.django_db
def test_admin_cannot_demote_themselves(company):
    admin = make_user(company, "a@acme.test", "Administrator")
    read_only = Role.objects.get(company=company, name="Read-only")
    with pytest.raises(InvalidInput):
        user_update(user=admin, actor=admin, full_name="", role=read_only, is_active=True)
    admin.refresh_from_db()
    assert admin.is_administrator


@pytest.mark.django_db
def test_api_tokens_are_hashed_and_revocable(company):
    user = make_user(company, "a@acme.test")
    token, raw = api_token_create(user=user, name="script")
    assert raw.startswith("icb_") and raw not in token.digest
    assert not ApiToken.objects.filter(digest__contains=raw).exists()
    assert api_token_user(raw) == user
    assert api_token_user(raw + "x") is None
    api_token_revoke(user=user, token_id=token.pk)
    assert api_token_user(raw) is None
