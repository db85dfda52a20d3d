"""The signed agreement export: written by the node, read strictly by the auditor."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from accord.legal.errors import SignedAgreementError
from accord.legal.signed_agreement import (
    EXPORT_FORMAT,
    encode_signed_agreement,
    read_signed_agreement,
)
from audit.check.run import load_documents, load_profile
from node.policy import sign_agreement
from tests.unit.policy.conftest import REQUESTER_KEY, RESPONDER_KEY, make_agreement

AGREEMENT = make_agreement()
SIGNATURES = {
    "requester": sign_agreement(AGREEMENT, AGREEMENT.requester.node_id, REQUESTER_KEY).signature,
    "responder": sign_agreement(AGREEMENT, AGREEMENT.responder.node_id, RESPONDER_KEY).signature,
}


def test_round_trip_keeps_the_hash_the_node_records() -> None:
    data = encode_signed_agreement(AGREEMENT.to_json(), SIGNATURES)
    doc = read_signed_agreement(data)
    assert doc.digest_hex == AGREEMENT.digest().hex()
    assert doc.fully_signed
    assert doc.purposes == AGREEMENT.purposes
    assert doc.valid_until == AGREEMENT.valid_until
    assert json.loads(data)["format"] == EXPORT_FORMAT
    assert data.endswith(b"}\n")


def _tampered(change: str) -> bytes:
    obj = json.loads(encode_signed_agreement(AGREEMENT.to_json(), SIGNATURES))
    if change == "terms":
        obj["agreement"]["window_days"] = 3000
        obj["agreement_sha256"] = ""
    elif change == "hash":
        obj["agreement_sha256"] = "00" * 32
    elif change == "signature":
        sig = bytearray(base64.b64decode(obj["signatures"][1]["signature"]))
        sig[0] ^= 1
        obj["signatures"][1]["signature"] = base64.b64encode(bytes(sig)).decode()
    elif change == "role twice":
        obj["signatures"][1]["role"] = "requester"
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode() + b"\n"


@pytest.mark.parametrize("change", ["terms", "hash", "signature", "role twice"])
def test_tampering_is_refused(change: str) -> None:
    with pytest.raises(SignedAgreementError):
        read_signed_agreement(_tampered(change))


def test_non_canonical_bytes_are_refused() -> None:
    data = encode_signed_agreement(AGREEMENT.to_json(), SIGNATURES)
    with pytest.raises(SignedAgreementError, match="canonical"):
        read_signed_agreement(json.dumps(json.loads(data), indent=1).encode())


def test_signing_with_a_key_the_terms_do_not_name_is_refused_at_export() -> None:
    with pytest.raises(SignedAgreementError, match="responder"):
        encode_signed_agreement(AGREEMENT.to_json(), {"responder": SIGNATURES["requester"]})


def test_a_bad_file_is_a_finding_an_unreadable_one_an_input_error(tmp_path: Path) -> None:
    from audit.check import CheckInputError

    good = tmp_path / "good.json"
    good.write_bytes(encode_signed_agreement(AGREEMENT.to_json(), SIGNATURES))
    (tmp_path / "bad.json").write_bytes(_tampered("signature"))
    docs, findings = load_documents([tmp_path])
    assert [d.digest_hex for d in docs] == [AGREEMENT.digest().hex()]
    assert [f.code for f in findings] == ["agreement.document_invalid"]
    assert "bad.json" in findings[0].message
    with pytest.raises(CheckInputError, match="no such"):
        load_documents([tmp_path / "absent.json"])


def test_profiles(tmp_path: Path) -> None:
    from audit.check import CheckInputError

    bound, findings = load_profile("us-ca-sb34")
    assert bound is not None and bound.jurisdiction == "US-CA" and not findings
    bound, findings = load_profile("us-tx-anything-goes")
    assert bound is None and [f.code for f in findings] == ["profile.unknown"]
    custom = tmp_path / "county.cedar"
    custom.write_text(
        '@id("no-private")\n@reason("r")\n@citation("c")\n'
        'forbid (principal, action, resource) when { principal.kind == "private" };\n'
    )
    bound, findings = load_profile(str(custom))
    assert bound is not None and bound.jurisdiction is None and "no-private" in bound.profile.rules
    custom.write_text("forbid (principal, action")
    with pytest.raises(CheckInputError, match="not a usable profile"):
        load_profile(str(custom))
