"""Agreement states in the transparency report, from real ledgers and the signed documents
exported beside them: in force only while unrevoked, signed by both and within the
document's validity at the time of the latest ledger entry; expired, revoked, not yet
valid, unsigned or unknown (no document) otherwise, in the JSON and on the page alike."""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import re
from pathlib import Path
from typing import Any

import pytest

from accord.legal.signed_agreement import encode_signed_agreement, read_signed_agreement
from audit.documents import DocumentSet, read_documents
from audit.errors import DocumentSourceError
from audit.ledger_set import AGREEMENTS_DIR, discover, load_ledgers
from audit.report import build_report, write_report
from audit.report.agreements import IN_FORCE_RULE, Standing, standing, validity_ms
from audit.report.html import UNKNOWN_VALIDITY
from audit.report.publish import Json
from crypto.entries import Entry
from node.policy import Agreement, AgreementId, sign_agreement
from tests.unit.audit.ledger_builder import DAY_MS, T0_MS, build_export, entry, hex32
from tests.unit.policy.conftest import REQUESTER_KEY, RESPONDER_KEY, make_agreement

A, B = "oakland-pd", "sf-pd"  # the parties make_agreement names
#: The latest entry of both ledgers, 2027-03-02: the moment the report judges at.
MOMENT_MS = T0_MS + 60 * DAY_MS


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def terms(aid: str, start: str, end: str, version: int = 1) -> Agreement:
    return make_agreement(
        id=AgreementId(aid), version=version, valid_from=utc(start), valid_until=utc(end)
    )


def export(agreement: Agreement, roles: tuple[str, ...] = ("requester", "responder")) -> bytes:
    keys = {"requester": (A, REQUESTER_KEY), "responder": (B, RESPONDER_KEY)}
    signatures = {
        role: sign_agreement(agreement, keys[role][0], keys[role][1]).signature for role in roles
    }
    return encode_signed_agreement(agreement.to_json(), signatures)


def recorded(agreement: Agreement, t: int = T0_MS) -> list[Entry]:
    """Both parties' ``agreement.created`` (or ``amended``) for ``agreement``."""
    kind = "agreement.created" if agreement.version == 1 else "agreement.amended"
    return [
        entry(
            node,
            kind,
            t,
            agreement_id=agreement.id,
            version=agreement.version,
            agreement_hash=agreement.digest().hex(),
            peer=peer,
            role=role,
        )
        for node, peer, role in ((A, B, "requester"), (B, A, "responder"))
    ]


CURRENT = terms("current", "2027-01-01", "2028-01-01")
EXPIRED = terms("expired", "2026-01-01", "2027-02-01")
REVOKED = terms("revoked", "2027-01-01", "2028-01-01")
FUTURE = terms("future", "2027-06-01", "2028-06-01")
UNSIGNED = terms("unsigned", "2027-01-01", "2028-01-01")
MISSING = terms("missing", "2026-01-01", "2027-02-01")
TAMPERED = terms("tampered", "2027-01-01", "2028-01-01")
#: Version 1 expired; version 2, logged later, is current.
RENEWED_V1 = terms("renewed", "2026-01-01", "2027-02-01")
RENEWED_V2 = terms("renewed", "2027-02-01", "2028-02-01", version=2)
#: Version 2 is logged but only version 1's document is supplied.
STALE_V1 = terms("stale", "2027-01-01", "2028-01-01")
STALE_V2 = terms("stale", "2027-02-01", "2028-02-01", version=2)
#: A document no ledger records: never listed.
UNRECORDED = terms("unrecorded", "2027-01-01", "2028-01-01")


def _tampered(data: bytes) -> bytes:
    obj = json.loads(data)
    sig = bytearray(base64.b64decode(obj["signatures"][1]["signature"]))
    sig[0] ^= 1
    obj["signatures"][1]["signature"] = base64.b64encode(bytes(sig)).decode()
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode() + b"\n"


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("exports")
    entries: list[Entry] = []
    for agreement in (CURRENT, EXPIRED, REVOKED, FUTURE, UNSIGNED, MISSING, TAMPERED):
        entries += recorded(agreement)
    entries += recorded(RENEWED_V1) + recorded(RENEWED_V2, T0_MS + 40 * DAY_MS)
    entries += recorded(STALE_V1) + recorded(STALE_V2, T0_MS + 40 * DAY_MS)
    entries.append(
        entry(
            B,
            "agreement.revoked",
            T0_MS + 10 * DAY_MS,
            agreement_id=REVOKED.id,
            version=1,
            agreement_hash=REVOKED.digest().hex(),
            peer=A,
            reason="ended",
        )
    )
    for node in (A, B):
        last = entry(node, "admin.action", MOMENT_MS, action="test", actor=hex32("a"), detail="")
        own = sorted((e for e in [*entries, last] if e.node == node), key=lambda e: e.time_ms)
        build_export(base, node, own)
    # Each party exports some of the documents; the report finds them all.
    files = {
        A: {
            "current-v1": export(CURRENT),
            "expired-v1": export(EXPIRED),
            "unsigned-v1": export(UNSIGNED, roles=("requester",)),
            "renewed-v1": export(RENEWED_V1),
            "renewed-v2": export(RENEWED_V2),
        },
        B: {
            "current-v1": export(CURRENT),
            "revoked-v1": export(REVOKED),
            "future-v1": export(FUTURE),
            "tampered-v1": _tampered(export(TAMPERED)),
            "stale-v1": export(STALE_V1),
            "unrecorded-v1": export(UNRECORDED),
        },
    }
    for node, docs in files.items():
        (base / node / AGREEMENTS_DIR).mkdir()
        for name, data in docs.items():
            (base / node / AGREEMENTS_DIR / f"{name}.json").write_bytes(data)
    return base


@pytest.fixture(scope="module")
def doc(exports: Path) -> Json:
    return build_report(load_ledgers(discover([exports])))


def _by_id(doc: Json) -> dict[str, Any]:
    return {a["agreement_id"]: a for a in doc["agreements"]["agreements"]}


def test_judged_at_the_latest_ledger_entry(doc: Json) -> None:
    ag = doc["agreements"]
    assert ag["as_of"] == "2027-03-02T00:00:00Z" == doc["period"]["to"]
    assert ag["rule"] == IN_FORCE_RULE


def test_in_force_only_while_valid_signed_and_unrevoked(doc: Json) -> None:
    ag = _by_id(doc)
    assert {aid: a["state"] for aid, a in ag.items()} == {
        "current": "in_force",
        "expired": "expired",
        "future": "not_yet_valid",
        "missing": "unknown",
        "renewed": "in_force",
        "revoked": "revoked",
        "stale": "unknown",
        "tampered": "unknown",
        "unsigned": "unsigned",
    }
    assert [aid for aid, a in ag.items() if a["in_force"]] == ["current", "renewed"]
    assert doc["agreements"]["in_force"] == 2
    assert doc["agreements"]["by_state"] == {
        "in_force": 2,
        "not_yet_valid": 1,
        "expired": 1,
        "revoked": 1,
        "unsigned": 1,
        "unknown": 3,
    }


def test_an_expired_agreement_nobody_revoked_says_when_it_ended(doc: Json) -> None:
    expired = _by_id(doc)["expired"]
    assert expired["revoked"] is None and not expired["in_force"]
    assert expired["valid_from"] == "2026-01-01T00:00:00Z"
    assert expired["valid_until"] == "2027-02-01T00:00:00Z"
    assert expired["agreement_hash"] == EXPIRED.digest().hex()


def test_revoked_unknown_and_the_latest_version(doc: Json) -> None:
    ag = _by_id(doc)
    revoked = ag["revoked"]
    assert (revoked["revoked"], revoked["revoked_reason"]) == ("2027-01-11T00:00:00Z", "ended")
    assert revoked["valid_until"] == "2028-01-01T00:00:00Z"  # its document, still shown
    missing = ag["missing"]
    assert missing["valid_from"] is None and missing["valid_until"] is None
    # The latest logged version decides, with its own document.
    assert ag["renewed"]["version"] == 2 and ag["renewed"]["valid_from"] == "2027-02-01T00:00:00Z"
    # Version 1's document says nothing about version 2.
    assert ag["stale"]["version"] == 2 and ag["stale"]["valid_until"] is None
    assert "unrecorded" not in ag


def test_documents_that_do_not_verify_are_listed(doc: Json) -> None:
    documents = doc["agreements"]["documents"]
    assert documents["verified"] == 9  # distinct documents that verified, tampered-v1 not
    [bad] = documents["rejected"]
    assert bad["file"] == "tampered-v1.json" and "signature" in bad["reason"]


def _row(page: str, aid: str) -> str:
    found = re.search(rf"<tr><td>{aid}</td>(.*?)</tr>", page)
    assert found, f"no row for {aid}"
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(1)))


def test_the_page_says_each_state_plainly(doc: Json, tmp_path: Path) -> None:
    html_path, json_path = write_report(doc, tmp_path / "report")
    assert json.loads(json_path.read_text()) == doc
    page = html_path.read_text()
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    assert "2 agreement(s) in force on 2027-03-02 00:00:00 UTC" in text
    assert IN_FORCE_RULE in text
    assert "until a party logs its revocation" not in text
    assert "The validity of 3 agreement(s) is unknown:" in text
    assert "tampered-v1.json" in text
    states = {aid: " ".join(_row(page, aid).split()) for aid in _by_id(doc)}
    assert states["current"].endswith("in force until 2028-01-01 00:00:00")
    assert states["expired"].endswith("expired 2027-02-01 00:00:00")
    assert "in force" not in states["expired"]
    assert states["future"].endswith("not yet valid: from 2027-06-01 00:00:00")
    assert states["revoked"].endswith("revoked 2027-01-11 00:00:00 (ended)")
    assert states["unsigned"].endswith("not in force: not signed by both parties")
    for aid in ("missing", "stale", "tampered"):
        assert states[aid].endswith(UNKNOWN_VALIDITY)
    assert UNKNOWN_VALIDITY == "validity unknown: no signed document supplied"


def test_without_documents_nothing_is_in_force(exports: Path) -> None:
    doc = build_report(load_ledgers(discover([exports])), DocumentSet())
    assert doc["agreements"]["in_force"] == 0
    assert {a["state"] for a in doc["agreements"]["agreements"]} == {"unknown", "revoked"}


def test_a_named_path_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentSourceError, match="no such agreement file or directory"):
        read_documents([tmp_path / "absent"])


def test_validity_boundaries() -> None:
    document = read_signed_agreement(export(CURRENT))
    start, end = validity_ms(document)
    assert standing(False, document, start - 1) is Standing.NOT_YET_VALID
    assert standing(False, document, start) is Standing.IN_FORCE
    assert standing(False, document, end - 1) is Standing.IN_FORCE
    assert standing(False, document, end) is Standing.EXPIRED
    assert standing(True, document, start) is Standing.REVOKED
    assert standing(False, None, start) is Standing.UNKNOWN
