"""The review policy, evaluated in memory: which unit change a sync applies and which it
holds for a person (docs/architecture.md, "Billing review").

    Rules                          one policy (the company's or a module's), as values
    DEFAULT_RULES                  a company's policy until an administrator changes it
    hold_rule(rules, old, new, first_sync)  the rule that holds a change, or None
    PolicySet.load(company)        the company's rules and its modules' overrides
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal

from .models import HoldRule, ReviewMode, ReviewPolicy

RULE_FIELDS = (
    "mode",
    "max_units",
    "max_percent",
    "hold_drop_to_zero",
    "hold_drop_percent",
    "hold_first_sync",
)


@dataclass(frozen=True)
class Rules:
    mode: str = ReviewMode.HOLD_UNUSUAL
    max_units: int | None = None
    max_percent: int | None = None
    hold_drop_to_zero: bool = True
    hold_drop_percent: int | None = 50
    hold_first_sync: bool = False

    def as_json(self) -> dict:
        return {**asdict(self), "mode": str(self.mode)}

    @classmethod
    def of(cls, policy: ReviewPolicy) -> Rules:
        return cls(**{name: getattr(policy, name) for name in RULE_FIELDS})


# New companies (and those that never changed it): drops to zero and drops of more than
# half are held, everything else is applied.
DEFAULT_RULES = Rules()


def hold_rule(rules: Rules, old: Decimal, new: Decimal, *, first_sync: bool) -> str | None:
    """The rule that holds the change old → new, or None to apply it. The first rule
    that matches names it, in the order of HoldRule. A change from zero units is more
    than any percentage."""
    if new == old or rules.mode == ReviewMode.AUTO:
        return None
    if rules.mode == ReviewMode.HOLD_ALL:
        return HoldRule.HOLD_ALL
    if first_sync and rules.hold_first_sync:
        return HoldRule.FIRST_SYNC
    if new == 0 and rules.hold_drop_to_zero:
        return HoldRule.DROP_TO_ZERO
    if new < old and rules.hold_drop_percent is not None:
        if (old - new) * 100 > old * rules.hold_drop_percent:
            return HoldRule.DROP_PERCENT
    delta = abs(new - old)
    if rules.max_units is not None and delta > rules.max_units:
        return HoldRule.MAX_UNITS
    if rules.max_percent is not None and (old == 0 or delta * 100 > old * rules.max_percent):
        return HoldRule.MAX_PERCENT
    return None


@dataclass
class PolicySet:
    """A company's rules and its modules' overrides (by module code), read in one query."""

    company: Rules = DEFAULT_RULES
    modules: dict[str, Rules] = field(default_factory=dict)

    def rules_for(self, module_code: str) -> Rules:
        return self.modules.get(module_code, self.company)

    @classmethod
    def load(cls, company_id: int) -> PolicySet:
        policies = cls()
        for policy in ReviewPolicy.objects.filter(company_id=company_id).select_related("module"):
            if policy.module is None:
                policies.company = Rules.of(policy)
            else:
                policies.modules[policy.module.code] = Rules.of(policy)
        return policies


def describe(rule: str) -> str:
    """The rule's words, as the pages show them ("drop to zero")."""
    return HoldRule(rule).label if rule in HoldRule.values else rule
