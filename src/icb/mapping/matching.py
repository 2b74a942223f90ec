"""Which account an organization's name most likely belongs to: names normalised (case,
accents, punctuation, legal suffixes, "&", site suffixes, abbreviations), candidates
found by blocking (never all pairs), scored with rapidfuzz. Pure: no database, so the
suggestion search (suggestions.py) and the benchmark run the same code.

Blocking: a name's keys are the pairs of its words' first four letters ("harb+dent")
and the first six letters of its name written without spaces ("^pinecr", for names
written as one word, such as a domain). Only accounts sharing a key with the
organization are scored, so the work grows with the organizations, not with
organizations × accounts."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations

from rapidfuzz import fuzz

# Words that say what kind of company it is, not which one; dropped at the end of a name.
LEGAL_SUFFIXES = frozenset(
    """inc incorporated llc lllp llp lp pllc plc pc ltd limited co corp corporation company
    gmbh ag kg sa sas sarl srl spa bv nv oy ab as aps pty pte cpas""".split()
)
# Short forms tools use, written out (both sides go through this).
ABBREVIATIONS = {
    "acctg": "accounting",
    "assoc": "associates",
    "assocs": "associates",
    "bros": "brothers",
    "ctr": "center",
    "centre": "center",
    "dept": "department",
    "grp": "group",
    "intl": "international",
    "mfg": "manufacturing",
    "mgmt": "management",
    "mtn": "mountain",
    "natl": "national",
    "st": "street",
    "svc": "service",
    "svcs": "services",
    "univ": "university",
}
# " – Boston Office", " - Quincy Clinic": what follows a spaced dash names a site.
SITE_SEPARATOR = re.compile(r"\s+[-\u2013\u2014]\s+")
PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
DOMAIN = re.compile(r"^(?:www\.)?([a-z0-9-]+)(?:\.[a-z]{2,10}){1,2}$")
NOT_WORD = re.compile(r"[^a-z0-9]+")
INITIALS = re.compile(r"\b(?:[a-z]\.){2,}")  # "l.l.c.", "u.s.a."

PREFIX = 4  # letters of a word in a pair key
COMPACT_PREFIX = 6  # letters of the one-word form in its key
# A key shared by more accounts than this names a kind of business ("dent+grou"), not a
# customer: not looked up (the name's other pairs find its account).
BLOCK_LIMIT = 100

# Confidences by kind of evidence; a fuzzy score is scaled below SAME_NAME.
PARENT_MAPPED = 0.97
SAME_NAME = 0.99
SAME_AS_MAPPED = 0.97
SAME_AS_CODE = 0.9
AMBIGUOUS_MARGIN = 6  # points: a runner-up this close makes the best one doubtful
AMBIGUOUS_PENALTY = 0.2
FUZZY_CEILING = 0.95
LOWEST_KEPT = 0.5  # weaker matches are not suggestions at all
# "Accept all above" starts here; the benchmark measures precision and recall at it.
DEFAULT_CONFIDENCE = 0.9


@dataclass(frozen=True, slots=True)
class Name:
    """A name as compared: its words, the words joined by spaces, and without spaces."""

    words: tuple[str, ...]
    text: str
    compact: str
    site: bool  # a site suffix was cut off


def _plain(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def normalize(name: str) -> Name:
    """The comparable form of a name: "HARBOR DENTAL – Boston Office" and "Harbor Dental,
    Inc." both become "harbor dental"; "pinecrestlogistics.com" "pinecrestlogistics"."""
    value = _plain(name).strip()
    value = PARENTHESES.sub(" ", value)
    head, *site = SITE_SEPARATOR.split(value, maxsplit=1)
    value = head if head.strip() else value
    domain = DOMAIN.match(value.strip())
    if domain:
        value = domain.group(1)
    value = value.replace("&", " and ").replace("+", " and ").replace("'", "")
    value = INITIALS.sub(lambda m: m.group(0).replace(".", ""), value)
    words = [ABBREVIATIONS.get(w, w) for w in NOT_WORD.sub(" ", value).split()]
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    if len(words) > 1 and words[0] == "the":
        words.pop(0)
    # "and" carries no identity ("Miller & Scott" = "Miller and Scott" = "Miller Scott").
    words = [w for w in words if w != "and"] or words
    return Name(tuple(words), " ".join(words), "".join(words), bool(site and head.strip()))


def code_key(code: str) -> str:
    return NOT_WORD.sub("", _plain(code))


def block_keys(name: Name) -> set[str]:
    """An account's keys: every pair key, and the one-word key."""
    keys = _pair_keys(name)
    if len(name.compact) >= 3:
        keys.add("^" + name.compact[:COMPACT_PREFIX])
    return keys


def query_keys(name: Name) -> set[str]:
    """The keys an organization is looked up by: its pairs, or for a one-word name (a
    domain, "pinecrestlogistics") its one-word key."""
    return _pair_keys(name) or {"^" + name.compact[:COMPACT_PREFIX]}


def _pair_keys(name: Name) -> set[str]:
    prefixes = sorted({w[:PREFIX] for w in name.words})
    return {f"{a}+{b}" for a, b in combinations(prefixes, 2)}


def similarity(a: Name, b: Name) -> float:
    """0–100: the words in any order, a name that is a part of the other (half credit),
    and the names written without spaces (for "pinecrestlogistics")."""
    words = (fuzz.token_sort_ratio(a.text, b.text) + fuzz.token_set_ratio(a.text, b.text)) / 2
    return max(words, fuzz.ratio(a.compact, b.compact))


@dataclass(frozen=True, slots=True)
class Match:
    account_id: int
    confidence: float
    reason: str


@dataclass(frozen=True, slots=True)
class MappedName:
    """An organization already mapped (in any module): its name, account and module."""

    name: str
    account_id: int
    module_name: str


class Matcher:
    """The accounts indexed once; `match()` per organization."""

    def __init__(
        self,
        accounts: Iterable[tuple[int, str, str]],
        mapped: Iterable[MappedName] = (),
    ) -> None:
        self.names: dict[int, Name] = {}
        self.display: dict[int, str] = {}
        self.by_text: dict[str, set[int]] = {}
        self.by_code: dict[str, set[int]] = {}
        self.blocks: dict[str, list[int]] = {}
        for account_id, name, code in accounts:
            normal = normalize(name)
            self.names[account_id] = normal
            self.display[account_id] = name
            self.by_text.setdefault(normal.compact, set()).add(account_id)
            if code_key(code):
                self.by_code.setdefault(code_key(code), set()).add(account_id)
            for key in block_keys(normal):
                self.blocks.setdefault(key, []).append(account_id)
        self.mapped: dict[str, set[tuple[int, str, str]]] = {}
        for item in mapped:
            compact = normalize(item.name).compact
            if compact:
                self.mapped.setdefault(compact, set()).add(
                    (item.account_id, item.name, item.module_name)
                )

    def match(
        self, name: str, *, parent: tuple[int, str] | None = None, module_name: str = ""
    ) -> Match | None:
        """The most likely account for an organization named `name`; `parent` is the
        account its parent organization is mapped to, with the parent's name."""
        if parent is not None:
            return Match(parent[0], PARENT_MAPPED, f"Its parent “{parent[1]}” is mapped to it")
        normal = normalize(name)
        if not normal.compact:
            return None
        same = self.by_text.get(normal.compact, set())
        if len(same) == 1:
            reason = "Same name, once case, punctuation and legal suffixes are set aside"
            if normal.site:
                reason = "Same name, followed by a site"
            return Match(next(iter(same)), SAME_NAME, reason)
        elsewhere = {
            (account, other, module)
            for account, other, module in self.mapped.get(normal.compact, set())
            if module != module_name
        }
        if len({account for account, _, _ in elsewhere}) == 1 and not same:
            account, other, module = min(elsewhere)
            return Match(account, SAME_AS_MAPPED, f"Named as “{other}”, mapped in {module}")
        by_code = self.by_code.get(normal.compact, set())
        if len(by_code) == 1 and not same:
            return Match(next(iter(by_code)), SAME_AS_CODE, "Its name is the account's code")
        return self._fuzzy(normal)

    def _fuzzy(self, normal: Name) -> Match | None:
        candidates: set[int] = set()
        for key in query_keys(normal):
            block = self.blocks.get(key)
            if block and len(block) <= BLOCK_LIMIT:
                candidates.update(block)
        if not candidates:
            return None
        scored = sorted(((similarity(normal, self.names[c]), c) for c in candidates), reverse=True)
        best, account_id = scored[0]
        runner_up = scored[1][0] if len(scored) > 1 else 0.0
        confidence = best / 100 * FUZZY_CEILING
        reason = f"Name like the account's ({best:.0f} % alike)"
        if runner_up >= best - AMBIGUOUS_MARGIN:
            confidence -= AMBIGUOUS_PENALTY
            other = self.display[scored[1][1]]
            reason += f"; “{other}” is nearly as alike"
        if confidence < LOWEST_KEPT:
            return None
        return Match(account_id, round(confidence, 3), reason)
