"""The table of statutory retention caps."""

from __future__ import annotations

import datetime as dt

import pytest

from node.config import Jurisdiction
from node.policy.retention_caps import RETENTION_CAPS, Verification, cap_for, capped


@pytest.mark.parametrize(
    ("state", "max_age", "citation"),
    [
        ("US-NH", dt.timedelta(minutes=3), "261:75-b"),
        ("US-ME", dt.timedelta(days=21), "2117-A"),
        ("US-MN", dt.timedelta(days=60), "13.824"),
        ("US-VT", dt.timedelta(days=540), "1607"),
    ],
)
def test_caps_named_in_the_issue(state: str, max_age: dt.timedelta, citation: str) -> None:
    cap = cap_for(state)
    assert cap is not None
    assert cap.max_age == max_age
    assert citation in cap.citation


def test_california_lets_the_agency_decide() -> None:
    cap = cap_for("US-CA")
    assert cap is not None
    assert cap.max_age is None
    assert capped("US-CA", dt.timedelta(days=365)) == dt.timedelta(days=365)


def test_every_entry_is_documented() -> None:
    for key, cap in RETENTION_CAPS.items():
        assert key == cap.jurisdiction
        assert str(Jurisdiction.parse(key)) == key
        assert cap.citation
        assert cap.statute_says
        assert isinstance(cap.verification, Verification)
        if cap.verification is not Verification.STATUTE_TEXT:
            assert cap.note, f"{key}: say what was and was not checked"


def test_capped() -> None:
    assert capped("US-ME", dt.timedelta(days=90)) == dt.timedelta(days=21)
    assert capped("US-ME", dt.timedelta(days=7)) == dt.timedelta(days=7)
    assert capped("US-NH", dt.timedelta(days=1)) == dt.timedelta(minutes=3)
    assert capped("US-TX", dt.timedelta(days=900)) == dt.timedelta(days=900)
    assert cap_for("US-TX") is None
    with pytest.raises(ValueError, match="negative"):
        capped("US-ME", dt.timedelta(days=-1))
