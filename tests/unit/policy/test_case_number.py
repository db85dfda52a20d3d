"""Case-number patterns: a safe subset, and the rule's verdicts."""

from __future__ import annotations

import time

import pytest

from node.policy import CaseNumberRule
from node.policy.case_number import check_pattern
from node.policy.errors import InvalidAgreementError


@pytest.mark.parametrize(
    "pattern",
    [
        r"^[0-9]{2}-[0-9]{5}$",
        r"\d{2}-\d{5,8}",
        r"[A-Z]{2,4}/\d+",
        r"OAK-\d{4}-[0-9A-F]{6}",
        r"[^/]+/\d+",
        r"CASE#\d{1,10}\.\d?",
        r".+",
    ],
)
def test_safe_patterns_accepted(pattern: str) -> None:
    check_pattern(pattern)


@pytest.mark.parametrize(
    "pattern",
    [
        r"(a+)+$",  # the classic catastrophic pattern: groups are refused
        r"(\d{2})-\d+",
        r"a|b",
        r"\d++",
        r"\d*?",
        r"a.*b.*c.*d.*",  # four unbounded repetitions
        r"\d{1,99}",
        r"\d{5,2}",
        r"\D+",
        r"\bX",
        r"[[:digit:]]",
        r"[0-9",
        r"^$^",
        "",
        "x" * 200,
        r"?",
    ],
)
def test_unsafe_or_unsupported_patterns_refused(pattern: str) -> None:
    with pytest.raises(ValueError):
        check_pattern(pattern)


def test_rule_refuses_bad_pattern_on_construction() -> None:
    with pytest.raises(InvalidAgreementError) as info:
        CaseNumberRule(required=True, pattern=r"(a+)+$")
    assert info.value.field == "pattern"


def test_required_rule() -> None:
    rule = CaseNumberRule(required=True, pattern=r"^[0-9]{2}-[0-9]{5}$")
    assert rule.violation("24-00123") is None
    assert "requires a case number" in (rule.violation("") or "")
    assert "form" in (rule.violation("2400123") or "")
    assert "form" in (rule.violation("24-00123x") or "")  # the whole number must match
    assert rule.violation("2" * 65) is not None
    assert rule.violation("24-0012٣") is not None  # non-ASCII digit


def test_optional_rule() -> None:
    rule = CaseNumberRule(required=False, pattern=r"\d{2}-\d{5}")
    assert rule.violation("") is None
    assert rule.violation("24-00123") is None
    assert rule.violation("nope") is not None
    assert CaseNumberRule(required=False, pattern=None).violation("anything") is None


def test_worst_case_pattern_is_fast() -> None:
    rule = CaseNumberRule(required=True, pattern=r".*.*.*X")
    start = time.perf_counter()
    assert rule.violation("a" * 64) is not None
    assert time.perf_counter() - start < 1.0
