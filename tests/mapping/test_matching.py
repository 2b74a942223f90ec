"""The name matching behind the suggestions: normalisation, and the account each kind of
evidence points to (no database)."""

import pytest

from icb.mapping.matching import DEFAULT_CONFIDENCE, MappedName, Matcher, normalize


@pytest.mark.parametrize(
    ("hub_name", "crm_name"),
    [
        ("HARBOR DENTAL GROUP", "Harbor Dental Group"),  # case
        ("Harbor Dental Group, Inc.", "Harbor Dental Group"),  # a legal suffix
        ("Pinecrest Logistics", "Pinecrest Logistics LLC"),
        ("Northgate Manufacturing Co.", "Northgate Manufacturing"),
        ("Müller Bäckerei GmbH", "Muller Backerei"),  # accents, a German suffix
        ("Miller & Scott Law Group", "Miller and Scott Law Group"),  # "&" vs "and"
        ("Miller and Scott Law Group LLP", "Miller & Scott Law Group"),
        ("HARBOR DENTAL GROUP \u2013 Boston Office", "Harbor Dental Group"),  # a site
        ("Harbor Dental Group - Quincy Clinic", "Harbor Dental Group"),
        ("Maple St. Veterinary", "Maple Street Veterinary"),  # an abbreviation
        ("Northgate Mfg", "Northgate Manufacturing"),
        ("pinecrestlogistics.com", "Pinecrest Logistics"),  # a domain
        ("Pinecrest Logistics (Microsoft 365)", "Pinecrest Logistics"),  # a parenthesis
        ("The O'Brien Group, L.L.C.", "OBrien Group"),  # punctuation, "the"
    ],
)
def test_spellings_of_one_name_normalise_alike(hub_name, crm_name):
    assert normalize(hub_name).compact == normalize(crm_name).compact


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Harbor Dental Group", "Harbor Family Dentistry"),
        ("Tri-County Builders", "County Builders"),
        ("Co-op Foods", "Foods"),  # a legal word inside a name stays
    ],
)
def test_different_names_stay_different(one, other):
    assert normalize(one).compact != normalize(other).compact


def test_a_site_is_noted_and_a_lone_suffix_kept():
    assert normalize("Harbor Dental \u2013 Boston Office").site
    assert not normalize("Tri-County Builders").site
    assert normalize("LLC").compact == "llc"  # nothing else to go by: kept


ACCOUNTS = [
    (1, "Harbor Dental Group", "HARBOR"),
    (2, "Harbor Family Dentistry", "HFD"),
    (3, "Pinecrest Logistics LLC", "PINECREST"),
    (4, "Summit Ridge Accounting", "SUMMIT"),
    (5, "Cedar Law Partners", "CEDAR"),
    (6, "Cedar Law Group", "CLG"),
]


@pytest.fixture
def matcher():
    return Matcher(ACCOUNTS, [MappedName("Bluewater Legal", 5, "RMM")])


def test_same_name_is_the_surest_fuzzy_guess(matcher):
    found = matcher.match("HARBOR DENTAL GROUP, INC.")
    assert (found.account_id, found.confidence) == (1, 0.99)
    assert "legal suffixes" in found.reason


def test_a_mapped_parent_wins(matcher):
    found = matcher.match("Somewhere Else \u2013 Boston", parent=(4, "Summit Ridge HQ"))
    assert found.account_id == 4 and found.confidence >= DEFAULT_CONFIDENCE
    assert "Summit Ridge HQ" in found.reason


def test_a_code_and_a_name_mapped_in_another_module(matcher):
    assert matcher.match("pinecrest").account_id == 3  # the code (and the one-word key)
    found = matcher.match("BLUEWATER LEGAL", module_name="Backup")
    assert found.account_id == 5 and "mapped in RMM" in found.reason
    # in the module where it is mapped, that is no evidence
    assert matcher.match("Bluewater Legal", module_name="RMM") is None


def test_spelling_variants_are_confident_and_near_twins_are_not(matcher):
    typo = matcher.match("Summit Rigde Accounting")
    assert typo.account_id == 4 and typo.confidence >= DEFAULT_CONFIDENCE
    domain = matcher.match("pinecrestlogistics.com")
    assert domain.account_id == 3 and domain.confidence >= DEFAULT_CONFIDENCE
    # "Cedar Law" is as like "Cedar Law Partners" as "Cedar Law Group": not sure enough
    twin = matcher.match("Cedar Law")
    assert twin is None or twin.confidence < DEFAULT_CONFIDENCE
    assert twin is None or "nearly as alike" in twin.reason


def test_strangers_get_nothing(matcher):
    assert matcher.match("Zephyr Analytics Inc") is None
    assert matcher.match("") is None
    assert matcher.match("!!!") is None
