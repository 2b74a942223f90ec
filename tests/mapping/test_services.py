import pytest

from icb.common.errors import Conflict, InvalidInput
from icb.mapping import selectors, services
from icb.mapping.models import Mapping, MappingChange, MappingColumns
from icb.mapping.services import CellChange
from tests.factories import make_account, make_company, make_mapping, make_module, make_org


def save(company, user, *changes):
    return services.apply_changes(company=company, user=user, changes=list(changes))


def mapped(account, module="rmm"):
    return sorted(
        Mapping.objects.filter(account=account, module__code=module).values_list(
            "organization__external_id", flat=True
        )
    )


def test_maps_a_parent_and_a_child_and_records_who_did_it(company, admin_user, orgs, accounts):
    touched = save(
        company, admin_user, CellChange(accounts["harbor"].pk, "rmm", add=["R-100", "R-101"])
    )
    assert touched == [accounts["harbor"].pk]
    assert mapped(accounts["harbor"]) == ["R-100", "R-101"]
    changes = MappingChange.objects.filter(account=accounts["harbor"])
    assert {(c.organization_external_id, c.action, c.user_id, c.module_code) for c in changes} == {
        ("R-100", "added", admin_user.pk, "rmm"),
        ("R-101", "added", admin_user.pk, "rmm"),
    }
    assert changes[0].organization_name.startswith("Harbor Dental")


def test_removing_records_the_removal(company, admin_user, orgs, accounts):
    harbor = accounts["harbor"]
    save(company, admin_user, CellChange(harbor.pk, "rmm", add=["R-100", "R-101"]))
    save(company, admin_user, CellChange(harbor.pk, "rmm", remove=["R-100"]))
    assert mapped(harbor) == ["R-101"]
    last = MappingChange.objects.filter(account=harbor).first()
    assert (last.action, last.organization_external_id) == ("removed", "R-100")


def test_an_organization_of_another_account_is_refused_naming_it(
    company, admin_user, orgs, accounts
):
    save(company, admin_user, CellChange(accounts["harbor"].pk, "rmm", add=["R-100"]))
    with pytest.raises(Conflict) as exc:
        save(
            company,
            admin_user,
            CellChange(accounts["cedar"].pk, "rmm", add=["R-200"]),
            CellChange(accounts["cedar"].pk, "backup", add=["B-1"]),
            CellChange(accounts["old"].pk, "rmm", add=["R-100"]),
        )
    assert "Harbor Dental Group" in exc.value.message
    assert "changes.2.add" in exc.value.errors
    # all or nothing: the valid cells of the same save were not stored either
    assert mapped(accounts["cedar"]) == [] and mapped(accounts["cedar"], "backup") == []
    assert MappingChange.objects.filter(account=accounts["cedar"]).count() == 0


def test_the_same_organization_for_two_accounts_in_one_save_is_refused(
    company, admin_user, orgs, accounts
):
    with pytest.raises(InvalidInput) as exc:
        save(
            company,
            admin_user,
            CellChange(accounts["harbor"].pk, "rmm", add=["R-200"]),
            CellChange(accounts["cedar"].pk, "rmm", add=["R-200"]),
        )
    assert "two accounts" in exc.value.message
    assert Mapping.objects.count() == 0


def test_moving_an_organization_in_one_save_is_allowed(company, admin_user, orgs, accounts):
    save(company, admin_user, CellChange(accounts["harbor"].pk, "rmm", add=["R-200"]))
    save(
        company,
        admin_user,
        CellChange(accounts["cedar"].pk, "rmm", add=["R-200"]),
        CellChange(accounts["harbor"].pk, "rmm", remove=["R-200"]),
    )
    assert mapped(accounts["cedar"]) == ["R-200"] and mapped(accounts["harbor"]) == []


@pytest.mark.parametrize(
    "ext_id,word", [("R-300", "inactive"), ("R-500", "cancelled"), ("R-400", "removed")]
)
def test_inactive_cancelled_or_removed_organizations_cannot_be_newly_mapped(
    company, admin_user, orgs, accounts, ext_id, word
):
    with pytest.raises(InvalidInput) as exc:
        save(company, admin_user, CellChange(accounts["harbor"].pk, "rmm", add=[ext_id]))
    assert word in exc.value.message and "changes.0.add" in exc.value.errors
    assert Mapping.objects.count() == 0


def test_existing_mappings_of_an_organization_that_became_inactive_stay(
    company, admin_user, orgs, accounts
):
    harbor = accounts["harbor"]
    save(company, admin_user, CellChange(harbor.pk, "rmm", add=["R-200"]))
    orgs["cedar"].status = "inactive"
    orgs["cedar"].removed_at = "2026-02-01T00:00:00Z"
    orgs["cedar"].save()
    # re-adding what is already there is a no-op, not an error
    save(company, admin_user, CellChange(harbor.pk, "rmm", add=["R-200", "R-100"]))
    row = selectors.account_mappings(account=harbor)["rmm"]
    flagged = next(o for o in row if o["id"] == "R-200")
    assert flagged["removed"] is True and flagged["status"] == "inactive"
    save(company, admin_user, CellChange(harbor.pk, "rmm", remove=["R-200"]))
    assert mapped(harbor) == ["R-100"]


@pytest.mark.parametrize(
    "change,field,words",
    [
        (dict(module="nope", add=["R-100"]), "changes.0.module", "Unknown module"),
        (dict(module="rmm", add=["X-1"]), "changes.0.add", "Unknown organization"),
        (dict(module="backup", add=["R-100"]), "changes.0.add", "belongs to module “rmm”"),
        (dict(module="rmm", remove=["B-1"]), "changes.0.remove", "belongs to module “backup”"),
        (dict(module="rmm", add=["R-100"], remove=["R-100"]), "changes.0.add", "both"),
        (dict(module="rmm", add=["R-100", "R-100"]), "changes.0.add", "twice"),
        (dict(module="rmm", add=[""]), "changes.0.add", "non-empty"),
    ],
)
def test_bad_changes_name_the_problem_and_save_nothing(
    company, admin_user, orgs, accounts, change, field, words
):
    with pytest.raises(InvalidInput) as exc:
        save(company, admin_user, CellChange(accounts["harbor"].pk, **change))
    assert field in exc.value.errors and words in exc.value.message
    assert Mapping.objects.count() == 0 and MappingChange.objects.count() == 0


def test_another_companys_account_and_organization_are_unknown(company, admin_user, orgs, accounts):
    rival = make_company("Rival MSP")
    rival_account = make_account(rival, "Rival Client", "RC")
    rival_org = make_org(make_module(rival, "rmm", "RMM"), "RIV-1", "Rival Org")
    with pytest.raises(InvalidInput) as exc:
        save(company, admin_user, CellChange(rival_account.pk, "rmm", add=["R-100"]))
    assert "changes.0.account_id" in exc.value.errors
    with pytest.raises(InvalidInput) as exc:
        save(company, admin_user, CellChange(accounts["harbor"].pk, "rmm", add=["RIV-1"]))
    assert "Unknown organization" in exc.value.message
    assert not Mapping.objects.filter(organization=rival_org).exists()


def test_the_same_cell_twice_is_refused(company, admin_user, orgs, accounts):
    with pytest.raises(InvalidInput):
        save(
            company,
            admin_user,
            CellChange(accounts["harbor"].pk, "rmm", add=["R-100"]),
            CellChange(accounts["harbor"].pk, "rmm", add=["R-200"]),
        )


def test_deltas_keep_another_users_changes_to_other_cells(
    company, admin_user, editor, orgs, accounts
):
    harbor, cedar = accounts["harbor"], accounts["cedar"]
    save(company, admin_user, CellChange(harbor.pk, "rmm", add=["R-100"]))
    # Both open the page now. The editor removes Harbor's R-100 and saves first...
    save(company, editor, CellChange(harbor.pk, "rmm", remove=["R-100"]))
    # ...the admin, whose page still shows R-100 on Harbor, maps Cedar and adds to Harbor.
    save(
        company,
        admin_user,
        CellChange(cedar.pk, "rmm", add=["R-200"]),
        CellChange(harbor.pk, "rmm", add=["R-101"]),
    )
    assert mapped(harbor) == ["R-101"]  # R-100 stays removed: the admin never sent it
    assert mapped(cedar) == ["R-200"]
    # removing what someone else already removed is a no-op, and records nothing
    before = MappingChange.objects.count()
    save(company, admin_user, CellChange(harbor.pk, "rmm", remove=["R-100"]))
    assert MappingChange.objects.count() == before


def test_a_race_past_the_checks_is_refused_by_the_database(
    company, admin_user, orgs, accounts, monkeypatch
):
    save(company, admin_user, CellChange(accounts["harbor"].pk, "rmm", add=["R-100"]))
    # pretend the check ran before the other save committed
    monkeypatch.setattr(services, "_current_mappings", lambda ids: {})
    with pytest.raises(Conflict) as exc:
        save(company, admin_user, CellChange(accounts["cedar"].pk, "rmm", add=["R-100"]))
    assert "Harbor Dental Group" in exc.value.message
    assert mapped(accounts["harbor"]) == ["R-100"] and mapped(accounts["cedar"]) == []


def test_replace_account_mappings_touches_only_the_modules_named(
    company, admin_user, orgs, accounts
):
    harbor = accounts["harbor"]
    save(
        company,
        admin_user,
        CellChange(harbor.pk, "rmm", add=["R-100", "R-101"]),
        CellChange(harbor.pk, "backup", add=["B-1"]),
    )
    services.replace_account_mappings(
        account=harbor, user=admin_user, mappings={"rmm": ["R-101", "R-102"]}
    )
    assert mapped(harbor) == ["R-101", "R-102"]
    assert mapped(harbor, "backup") == ["B-1"]
    with pytest.raises(InvalidInput) as exc:
        services.replace_account_mappings(
            account=harbor, user=admin_user, mappings={"backup": ["R-200"]}
        )
    assert "backup" in exc.value.errors


def test_columns_default_to_rmm_backup_documentation_and_are_remembered(admin_user, modules):
    all_modules = selectors.mapping_modules(company=admin_user.company)
    assert [m.code for m in all_modules] == ["backup", "docs", "phish", "rmm"]
    # nothing mapped yet: RMM (the most used), backup, documentation; not by name
    first = selectors.chosen_columns(user=admin_user, modules=all_modules)
    assert [m.code for m in first] == ["rmm", "backup", "docs"]
    services.set_columns(user=admin_user, modules=["phish", "backup"])
    chosen = selectors.chosen_columns(user=admin_user, modules=all_modules)
    assert [m.code for m in chosen] == ["phish", "backup"]


def test_default_columns_are_the_most_mapped_modules(admin_user, company, modules):
    account = make_account(company, "Harbor Dental Group", "HARBOR")
    for i in range(3):
        make_mapping(account, make_org(modules["phish"], f"P-{i}", f"Phish {i}"))
    for i in range(2):
        make_mapping(account, make_org(modules["docs"], f"D-{i}", f"Docs {i}"))
    all_modules = selectors.mapping_modules(company=company)
    columns = selectors.chosen_columns(user=admin_user, modules=all_modules)
    assert [m.code for m in columns] == ["phish", "docs", "rmm"]


def test_the_companys_default_columns_skip_modules_gone_from_the_hub(admin_user, company, modules):
    services.set_default_columns(company=company, actor=admin_user, modules=["phish", "docs"])
    all_modules = [m for m in selectors.mapping_modules(company=company) if m.code != "docs"]
    columns = selectors.chosen_columns(user=admin_user, modules=all_modules)
    assert [m.code for m in columns] == ["phish"]


@pytest.mark.parametrize(
    "codes,words",
    [
        (["rmm", "backup", "docs", "phish"], "at most 3"),
        (["rmm", "nope"], "Unknown module"),
        (["rmm", "rmm"], "twice"),
    ],
)
def test_bad_column_choices_are_refused(admin_user, modules, codes, words):
    with pytest.raises(InvalidInput) as exc:
        services.set_columns(user=admin_user, modules=codes)
    assert words in exc.value.message and "modules" in exc.value.errors
    assert not MappingColumns.objects.filter(user=admin_user).exists()


def test_the_grid_takes_a_constant_number_of_queries(
    company, admin_user, modules, django_assert_max_num_queries
):
    rmm = modules["rmm"]
    for i in range(60):
        account = make_account(company, f"Client {i:03}", f"C{i:03}")
        for j in range(3):
            org = make_org(rmm, f"O-{i}-{j}", f"Org {i}-{j}")
            Mapping.objects.create(company=company, account=account, module=rmm, organization=org)
    columns = [modules["rmm"], modules["backup"], modules["docs"]]
    with django_assert_max_num_queries(3):
        page, rows = selectors.mapping_grid(company=company, modules=columns)
    assert len(page.items) == 50 and page.count == 60 and page.pages == 2
    assert len(rows[page.items[0].pk]["rmm"]) == 3
    assert rows[page.items[0].pk]["backup"] == []


def test_picker_lists_children_under_parents_with_the_account_they_are_mapped_to(
    company, admin_user, orgs, accounts, django_assert_max_num_queries
):
    save(company, admin_user, CellChange(accounts["cedar"].pk, "rmm", add=["R-101"]))
    with django_assert_max_num_queries(4):
        items, _ = selectors.organization_options(module=orgs["harbor"].module, search="harbor")
    assert [(i["id"], i["depth"]) for i in items] == [("R-100", 0), ("R-101", 1), ("R-102", 1)]
    assert items[1]["mapped_to"]["name"] == "Cedar Law Partners"
    # a matching child brings its parent; a matching parent brings its children
    items, _ = selectors.organization_options(module=orgs["harbor"].module, search="R-102")
    assert [(i["id"], i["depth"]) for i in items] == [("R-100", 0), ("R-102", 1)]
    items, _ = selectors.organization_options(module=orgs["harbor"].module, search="R-100")
    assert [i["id"] for i in items] == ["R-100", "R-101", "R-102"]


def test_modules_past_the_counted_mappings_rank_as_equals(
    admin_user, company, modules, monkeypatch
):
    """Mappings are counted up to MAPPINGS_COUNTED a module (the page asks on every
    view); modules past it tie, and the usual order decides: docs before phish."""
    monkeypatch.setattr(selectors, "MAPPINGS_COUNTED", 2)
    account = make_account(company, "Harbor Dental Group", "HARBOR")
    for i in range(3):
        make_mapping(account, make_org(modules["phish"], f"P-{i}", f"Phish {i}"))
    for i in range(2):
        make_mapping(account, make_org(modules["docs"], f"D-{i}", f"Docs {i}"))
    make_mapping(account, make_org(modules["backup"], "B-1", "Backup 1"))
    all_modules = selectors.mapping_modules(company=company)
    columns = selectors.chosen_columns(user=admin_user, modules=all_modules)
    assert [m.code for m in columns] == ["docs", "phish", "backup"]
