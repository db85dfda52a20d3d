"""Categories a legal profile excludes, asked of the profile's own Cedar rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import pytest

from node.config import AgencyKind, Jurisdiction
from node.hotlists.categories import allowed_categories, excluded_categories
from node.policy.profile import LegalProfile

CATEGORIES = (
    "stolen-vehicle",
    "immigration-violator",
    "immigration-enforcement",
    "reproductive-health-care",
    "abortion",
    "felony-vehicle",
)
RESERVED = {
    "abortion": ("il-2-130-no-reproductive-care",),
    "immigration-enforcement": ("il-2-130-no-immigration-enforcement",),
    "immigration-violator": ("il-2-130-no-immigration-enforcement",),
    "reproductive-health-care": ("il-2-130-no-reproductive-care",),
}


class Agency(NamedTuple):
    ori: str
    jurisdiction: str
    kind: AgencyKind


IL = Agency("IL0160000", "US-IL", AgencyKind.MUNICIPAL)
CA = Agency("CA0194200", "US-CA", AgencyKind.MUNICIPAL)
FEDERAL = Agency("DC0000001", "US", AgencyKind.FEDERAL)


def excluded(profile: str, agency: Agency, categories: Iterable[str] = CATEGORIES) -> object:
    return excluded_categories(
        LegalProfile.load(profile),
        categories,
        ori=agency.ori,
        jurisdiction=Jurisdiction.parse(agency.jurisdiction),
        kind=agency.kind,
    )


def allowed(profile: str, agency: Agency, categories: Iterable[str]) -> frozenset[str]:
    return allowed_categories(
        LegalProfile.load(profile),
        categories,
        ori=agency.ori,
        jurisdiction=Jurisdiction.parse(agency.jurisdiction),
        kind=agency.kind,
    )


def test_illinois_excludes_immigration_and_reproductive_care_with_rule_ids() -> None:
    assert excluded("us-il-2-130", IL) == RESERVED
    both = [*CATEGORIES, "stolen-vehicle"]
    assert allowed("us-il-2-130", IL, both) == {"stolen-vehicle", "felony-vehicle"}


@pytest.mark.parametrize("agency", [CA, FEDERAL], ids=["out-of-state", "federal"])
def test_rules_about_the_recipient_do_not_look_like_rules_about_categories(
    agency: Agency,
) -> None:
    # Illinois refuses these agencies without a declaration, and California refuses them
    # outright; neither makes every category look excluded.
    assert excluded("us-il-2-130", agency) == RESERVED
    assert excluded("us-ca-sb34", agency) == {}


@pytest.mark.parametrize("name", ["baseline", "us-ca-sb34"])
def test_profiles_without_category_rules_exclude_nothing(name: str) -> None:
    assert excluded(name, CA) == {}
    assert allowed(name, CA, CATEGORIES) == set(CATEGORIES)
    assert allowed(name, CA, []) == frozenset()
