"""Legal profiles load from package data, validate, and name every rule."""

from __future__ import annotations

import importlib.resources

import pytest

from node.errors import SetupError
from node.policy import SHIPPED_PROFILES, LegalProfile
from node.policy.errors import ProfileError
from node.policy.profile import BASELINE_FILE

EXPECTED_RULES = {
    "baseline": {"baseline-sign-agreement", "baseline-honour-query", "baseline-share-alert"},
    "us-ca-sb34": {"ca-sb34-in-state-only", "ca-sb34-no-federal", "ca-sb34-public-agencies-only"},
    "us-il-2-130": {
        "il-2-130-declaration-required",
        "il-2-130-no-immigration-enforcement",
        "il-2-130-no-reproductive-care",
    },
}
BASELINE = EXPECTED_RULES["baseline"]


def _baseline_text() -> str:
    files = importlib.resources.files("node.policy.profiles")
    return files.joinpath(BASELINE_FILE).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(SHIPPED_PROFILES))
def test_shipped_profiles_load_with_their_rules(name: str) -> None:
    profile = LegalProfile.load(name)
    assert profile.name == name
    assert profile.description
    assert set(profile.rules) == BASELINE | EXPECTED_RULES[name]
    for rule in profile.rules.values():
        assert rule.reason
        assert rule.citation
        assert rule.effect == ("permit" if rule.id in BASELINE else "forbid")


def test_files_are_package_data() -> None:
    files = importlib.resources.files("node.policy.profiles")
    names = {entry.name for entry in files.iterdir()}
    assert {
        "accord.cedarschema",
        "baseline.cedar",
        "us-ca-sb34.cedar",
        "us-il-2-130.cedar",
    } <= names


def test_unknown_profile_is_a_setup_error() -> None:
    with pytest.raises(ProfileError, match="unknown legal profile") as info:
        LegalProfile.load("us-tx-anything-goes")
    assert isinstance(info.value, SetupError)


def test_policy_without_id_refused() -> None:
    text = '@reason("r")\n@citation("c")\npermit (principal, action, resource);'
    with pytest.raises(ProfileError, match="lacks @id"):
        LegalProfile("custom", [text])


def test_duplicate_ids_refused() -> None:
    rule = '@id("x")\n@reason("r")\n@citation("c")\npermit (principal, action, resource);\n'
    with pytest.raises(ProfileError, match="share @id"):
        LegalProfile("custom", [rule, rule])


def test_policy_outside_the_schema_refused() -> None:
    bad = (
        '@id("typo")\n@reason("r")\n@citation("c")\n'
        'forbid (principal, action, resource) when { principal.jurisdicton == "US-CA" };'
    )
    with pytest.raises(ProfileError, match="typo"):
        LegalProfile("custom", [_baseline_text(), bad])


def test_profile_without_permit_refused() -> None:
    only_forbid = '@id("f")\n@reason("r")\n@citation("c")\nforbid (principal, action, resource);'
    with pytest.raises(ProfileError, match="without a permit"):
        LegalProfile("custom", [only_forbid])


def test_empty_profile_refused() -> None:
    with pytest.raises(ProfileError, match="at least one policy"):
        LegalProfile("custom", [""])


def test_unparsable_profile_refused() -> None:
    with pytest.raises(ProfileError, match="do not parse"):
        LegalProfile("custom", ["permit (principal, action"])
