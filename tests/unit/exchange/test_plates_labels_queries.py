"""Pure parts of the exchange: plate forms, label padding, the signed query body."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.exchange.hit_query import HitQueryBody, elements_digest
from node.exchange.labels import SIZES, ReadFacts, label_detail, read_detail
from node.ids import AgreementId, NodeId, RequestId
from node.plates import fold_confusables, matching_form, normalise, oprf_input
from node.policy.agreement import LabelDetail, QueryKind
from node.policy.errors import InvalidQueryError

NOW = dt.datetime(2026, 12, 1, 8, 0, 0, tzinfo=dt.UTC)


def test_plates_are_compared_upper_case_without_separators() -> None:
    assert normalise("7qr-s 482") == "7QRS482"
    assert normalise("\uff21\uff22\uff23\uff11\uff12\uff13") == "ABC123"  # full-width, NFKC
    assert fold_confusables("OIBSZ") == "01852"
    assert matching_form("8b8c-123", fold=True) == "888C123"
    assert matching_form("8b8c-123", fold=False) == "8B8C123"
    with pytest.raises(ValueError, match="1-16"):
        matching_form("--", fold=False)
    with pytest.raises(ValueError, match="1-16"):
        matching_form("A" * 17, fold=False)
    assert oprf_input("7QRS482") == b"accord/plate/v1\n7QRS482"


@given(st.text(max_size=20))
def test_folding_is_idempotent(raw: str) -> None:
    once = fold_confusables(normalise(raw))
    assert fold_confusables(once) == once


def facts(**overrides: object) -> ReadFacts:
    fields: dict[str, object] = {
        "time": NOW,
        "city": "culver-city-pd (US-CA)",
        "camera": "Pier entrance",
        "lat": 34.0094321,
        "lon": -118.4973,
        "image": "accord:culver-city-pd/reads/17",
    }
    fields.update(overrides)
    return ReadFacts(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("detail", list(LabelDetail))
def test_labels_have_one_size_per_level_and_only_their_fields(detail: LabelDetail) -> None:
    short = label_detail(facts(camera="A"), detail)
    long = label_detail(facts(camera="A very long camera name " * 5, city="X" * 200), detail)
    assert len(short) == len(long) == SIZES[detail]
    opened = read_detail(short)
    expected = {
        LabelDetail.HIT_ONLY: set(),
        LabelDetail.DAY_AND_CITY: {"day", "city"},
        LabelDetail.TIME_CAMERA_PLACE: {"day", "city", "time", "camera", "lat", "lon"},
        LabelDetail.IMAGE_REFERENCE: {"day", "city", "time", "camera", "lat", "lon", "image"},
    }[detail]
    assert set(opened) == expected
    if "lat" in opened:
        assert opened["lat"] == "34.00943"


def _reference_label(f: ReadFacts, detail: LabelDetail) -> bytes:
    """What a label held before it was written by hand: the dict through ``json.dumps``."""
    short = {k: v if len(v) <= 48 else v[:47] + "~" for k, v in
             {"city": f.city, "camera": f.camera, "image": f.image}.items()}  # fmt: skip
    t = f.time.astimezone(dt.UTC)
    obj: dict[str, str] = {}
    if detail is not LabelDetail.HIT_ONLY:
        obj |= {"day": t.strftime("%Y-%m-%d"), "city": short["city"]}
    if detail in (LabelDetail.TIME_CAMERA_PLACE, LabelDetail.IMAGE_REFERENCE):
        obj |= {"time": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "camera": short["camera"],
                "lat": f"{f.lat:.5f}", "lon": f"{f.lon:.5f}"}  # fmt: skip
    if detail is LabelDetail.IMAGE_REFERENCE:
        obj["image"] = short["image"]
    body = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return body.ljust(SIZES[detail], b" ")


@given(
    # Up to 12 characters of any script, quotes and backslashes included (control
    # characters escape to six bytes each and could not fit the padded size).
    text=st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12),
    when=st.datetimes(
        min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1),
        timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-8))]),
    ),
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    detail=st.sampled_from(list(LabelDetail)),
)  # fmt: skip
def test_labels_are_the_json_of_their_fields(
    text: str, when: dt.datetime, lat: float, lon: float, detail: LabelDetail
) -> None:
    f = facts(time=when, city=text, camera=text[::-1], image="accord:n/" + text, lat=lat, lon=lon)
    made = label_detail(f, detail)
    assert made == _reference_label(f, detail)
    assert len(made) == SIZES[detail]


def body(**overrides: object) -> HitQueryBody:
    fields: dict[str, object] = {
        "request_id": RequestId("r-1"),
        "requester": NodeId("santa-monica-pd"),
        "responder": NodeId("culver-city-pd"),
        "ori": "CA0194200",
        "agreement_id": AgreementId("smpd-ccpd"),
        "agreement_version": 1,
        "purpose": "stolen-vehicle",
        "case_number": "24-00123",
        "user": "ab" * 32,
        "window_days": 7,
        "epochs": (20418, 20419),
        "batch_size": 2,
        "elements_sha256": elements_digest([b"\x01" * 32, b"\x02" * 32]),
        "salt": bytes(range(32)),
        "time": NOW,
    }
    fields.update(overrides)
    return HitQueryBody(**fields)  # type: ignore[arg-type]


def test_a_body_round_trips_and_commits_to_its_exact_bytes() -> None:
    b = body()
    raw = b.encode()
    assert HitQueryBody.decode(raw) == b
    assert b.q_commit(raw) != body(salt=bytes(32)).q_commit(body(salt=bytes(32)).encode())
    assert b.case_commit() != body(case_number="24-00124").case_commit()
    assert "24-00123" not in b.case_commit()


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("salt"), "salt"),
        (lambda d: d.update(salt="AAAA"), "salt"),
        (lambda d: d.update(epochs=[2, 1]), "epochs"),
        (lambda d: d.update(epochs=[]), "epochs"),
        (lambda d: d.update(epochs=[True]), "epochs"),
        (lambda d: d.update(elements_sha256="XYZ"), "elements_sha256"),
        (lambda d: d.update(kind="hack"), "kind"),
        (lambda d: d.update(format="accord/other/v1"), "format"),
        (lambda d: d.update(extra=1), "extra"),
        (lambda d: d.update(batch_size=0), "batch_size"),
    ],
)
def test_malformed_bodies_are_refused_naming_the_field(mutate: object, field: str) -> None:
    doc = json.loads(body().encode())
    mutate(doc)  # type: ignore[operator]
    from crypto.canonical_json import dumps

    with pytest.raises(InvalidQueryError) as caught:
        HitQueryBody.decode(dumps(doc))
    assert field in str(caught.value)


def test_non_canonical_and_oversized_bodies_are_refused() -> None:
    raw = body().encode()
    with pytest.raises(InvalidQueryError, match="canonical"):
        HitQueryBody.decode(raw.replace(b",", b", ", 1))
    with pytest.raises(InvalidQueryError, match="bytes"):
        HitQueryBody.decode(b" " * 5000)


def test_alert_queries_name_their_categories_and_hit_queries_none() -> None:
    alerts = body(kind=QueryKind.ALERTS, categories=("stolen-vehicle",))
    assert HitQueryBody.decode(alerts.encode()).share().categories == {"stolen-vehicle"}
    with pytest.raises(InvalidQueryError, match="categories"):
        body(kind=QueryKind.ALERTS)
    with pytest.raises(InvalidQueryError, match="categories"):
        body(categories=("stolen-vehicle",))
