"""The agreement document: round trips, canonical bytes, strict parsing."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import json
from typing import Any

import pytest

from crypto.canonical_json import dumps
from node.config import AgencyKind
from node.policy import AGREEMENT_FORMAT, Agreement, LabelDetail, QueryKind
from node.policy.errors import InvalidAgreementError, PolicyError

from .conftest import REQUESTER_KEY, T0, make_agreement, party

# The canonical bytes of the conftest agreement are pinned: any change to the encoding
# changes every agreement hash on every ledger, and must be a new format version.
PINNED_SHA256 = "bdab834ae785b8750337e9c12a0f822e19171071538e4d3323b3e99fd1bd33d0"


def test_json_round_trip(agreement: Agreement) -> None:
    assert Agreement.from_json(agreement.to_json()) == agreement
    through_text = json.loads(json.dumps(agreement.to_json()))
    assert Agreement.from_json(through_text) == agreement


def test_canonical_bytes_round_trip(agreement: Agreement) -> None:
    data = agreement.canonical_bytes()
    assert Agreement.from_canonical_bytes(data) == agreement
    assert Agreement.from_canonical_bytes(data).canonical_bytes() == data


def test_canonical_bytes_are_stable(agreement: Agreement) -> None:
    data = agreement.canonical_bytes()
    assert data.startswith(b'{"alert_categories":["stolen-vehicle","wanted-person"],')
    assert b'"format":"accord/agreement/v1"' in data
    # An independent encoder (ASCII-only document: code-point order is UTF-16 order).
    independent = json.dumps(agreement.to_json(), sort_keys=True, separators=(",", ":"))
    assert data == independent.encode()
    # Sets are written sorted, whatever order they were built in.
    shuffled = dataclasses.replace(
        agreement, purposes=frozenset(sorted(agreement.purposes, reverse=True))
    )
    assert shuffled.canonical_bytes() == data
    assert agreement.digest() == hashlib.sha256(b"accord/agreement/v1\n" + data).digest()
    assert agreement.digest().hex() == PINNED_SHA256


def test_any_change_changes_the_digest(agreement: Agreement) -> None:
    changed = [
        dataclasses.replace(agreement, version=2),
        dataclasses.replace(agreement, window_days=31),
        dataclasses.replace(agreement, onward_sharing_banned=False),
        dataclasses.replace(agreement, label_detail=LabelDetail.HIT_ONLY),
        dataclasses.replace(agreement, valid_until=agreement.valid_until + dt.timedelta(seconds=1)),
    ]
    digests = {a.digest() for a in changed} | {agreement.digest()}
    assert len(digests) == len(changed) + 1


def test_party_roles(agreement: Agreement) -> None:
    assert agreement.role_of("oakland-pd") == "requester"
    assert agreement.role_of("sf-pd") == "responder"
    assert agreement.role_of("la-pd") is None


def test_label_detail_levels() -> None:
    assert [d.level for d in LabelDetail] == [0, 1, 2, 3]


def _doc() -> dict[str, Any]:
    doc: dict[str, Any] = copy.deepcopy(make_agreement().to_json())
    return doc


def _refused(doc: object, field: str | None) -> InvalidAgreementError:
    with pytest.raises(InvalidAgreementError) as info:
        Agreement.from_json(doc)
    assert info.value.field == field, str(info.value)
    assert isinstance(info.value, PolicyError)
    return info.value


def test_unknown_field_refused() -> None:
    doc = _doc()
    doc["share_everything"] = True
    assert "share_everything" in str(_refused(doc, None))


def test_unknown_nested_field_refused() -> None:
    doc = _doc()
    doc["rate_limit"]["burst"] = 10
    _refused(doc, "rate_limit")
    doc = _doc()
    doc["requester"]["email"] = "x@example.org"
    _refused(doc, "requester")


@pytest.mark.parametrize(
    "field",
    ["id", "version", "requester", "purposes", "case_number", "window_days", "valid_until"],
)
def test_missing_field_refused(field: str) -> None:
    doc = _doc()
    del doc[field]
    assert "missing" in str(_refused(doc, field))


def test_missing_nested_field_refused() -> None:
    doc = _doc()
    del doc["responder"]["ori"]
    _refused(doc, "responder.ori")
    doc = _doc()
    del doc["case_number"]["pattern"]
    _refused(doc, "case_number.pattern")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("version", "1"),
        ("version", True),
        ("version", 1.0),
        ("window_days", None),
        ("onward_sharing_banned", 1),
        ("purposes", "stolen-vehicle"),
        ("purposes", ["homicide", "homicide"]),
        ("purposes", [1]),
        ("query_kinds", ["hit_query", "bulk_download"]),
        ("label_detail", "EVERYTHING"),
        ("valid_from", "2025-01-01"),
        ("valid_from", "2025-01-01T00:00:00+00:00"),
        ("valid_from", "2025-02-30T00:00:00Z"),
        ("format", "accord/agreement/v2"),
        ("requester", "oakland-pd"),
    ],
)
def test_wrong_type_or_value_refused(field: str, value: object) -> None:
    doc = _doc()
    doc[field] = value
    _refused(doc, field)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("requester", "kind"), "vigilante"),
        (("requester", "jurisdiction"), "California"),
        (("requester", "ori"), "oakland"),
        (("requester", "node_id"), "Oakland PD"),
        (("requester", "name"), "bad\nname"),
        (("requester", "signing_key"), "accord-ed25519-log-public-v1:" + "A" * 43 + "="),
        (("case_number", "pattern"), "(a+)+$"),
        (("case_number", "required"), "yes"),
        (("rate_limit", "max_batch"), 6000),
        (("rate_limit", "plates_per_day"), 0),
    ],
)
def test_bad_nested_value_refused(path: tuple[str, str], value: object) -> None:
    doc = _doc()
    doc[path[0]][path[1]] = value
    _refused(doc, ".".join(path))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"window_days": 0}, "window_days"),
        ({"window_days": 100_000}, "window_days"),
        ({"retention_days": -1}, "retention_days"),
        ({"purposes": frozenset()}, "purposes"),
        ({"purposes": frozenset({"Stolen Vehicle"})}, "purposes"),
        ({"query_kinds": frozenset()}, "query_kinds"),
        ({"query_kinds": frozenset({QueryKind.ALERTS})}, "query_kinds"),
        ({"query_kinds": frozenset({QueryKind.HIT_QUERY})}, "alert_categories"),
        ({"alert_categories": frozenset()}, "alert_categories"),
        ({"valid_until": T0}, "valid_until"),
        ({"valid_from": dt.datetime(2025, 1, 1)}, "valid_from"),
        ({"valid_from": T0.replace(microsecond=5)}, "valid_from"),
        ({"id": "has space"}, "id"),
        ({"version": 0}, "version"),
    ],
)
def test_invalid_values_refused_on_construction(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidAgreementError) as info:
        make_agreement(**changes)
    assert info.value.field == field


def test_parties_must_differ() -> None:
    with pytest.raises(InvalidAgreementError, match="different nodes"):
        make_agreement(responder=party("oakland-pd", REQUESTER_KEY, kind=AgencyKind.COUNTY))
    same_key = party("sf-pd", REQUESTER_KEY)
    with pytest.raises(InvalidAgreementError, match="different keys"):
        make_agreement(responder=same_key)


def test_non_canonical_bytes_refused(agreement: Agreement) -> None:
    pretty = json.dumps(agreement.to_json(), indent=1).encode()
    with pytest.raises(InvalidAgreementError, match="not canonical"):
        Agreement.from_canonical_bytes(pretty)
    with pytest.raises(InvalidAgreementError, match="not canonical"):
        Agreement.from_canonical_bytes(b"\xff")


def test_not_an_object_refused() -> None:
    _refused([1, 2], None)
    with pytest.raises(InvalidAgreementError):
        Agreement.from_canonical_bytes(dumps([AGREEMENT_FORMAT]))
