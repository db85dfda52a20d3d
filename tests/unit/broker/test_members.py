"""The member store is the signed snapshot: every change is a new, verifiable version."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import os
import stat
from pathlib import Path

import pytest

from broker.errors import (
    BrokerHomeExistsError,
    BrokerSetupError,
    DuplicateMemberError,
    MemberError,
    UnknownMemberError,
)
from broker.home import BrokerHome, init_broker_home
from broker.members import (
    Reachability,
    add_member,
    member_from_card,
    read_card,
    remove_member,
    update_member,
)
from crypto.directory import Member, accept_update
from tests.unit.broker.conftest import NOW, CardMaker

LATER = NOW + dt.timedelta(minutes=1)


def _member(make_card: CardMaker, name: str, ori: str, **reach: object) -> Member:
    cert, card, _ = make_card(name, ori)
    return member_from_card(
        read_card(cert, card),
        name=name,
        ori=ori,
        jurisdiction="US-CA",
        kind="municipal",
        reach=Reachability(
            reach.get("endpoint", "127.0.0.1:7443"),  # type: ignore[arg-type]
            bool(reach.get("relay_only", False)),
        ),
    )


def test_init_writes_keys_privately_and_publishes_an_empty_version_1(
    broker: BrokerHome, tmp_path: Path
) -> None:
    home = broker.home
    for secret in ("keys/operator.key", "keys/witness.key", "tls/broker.key"):
        assert stat.S_IMODE(os.stat(home / secret).st_mode) == 0o600, secret
    current = broker.current()
    assert current.directory.version == 1
    assert current.directory.members == ()
    assert current.directory.expires_ms - current.directory.issued_ms == 3600 * 1000
    operator_pub = (home / "keys/operator.pub").read_text().strip()
    assert operator_pub == broker.keys.operator_public_hex
    # What nodes do with it: verify with the operator key.
    accept_update(
        current.signed, None, bytes.fromhex(operator_pub), now_ms=int(NOW.timestamp() * 1000)
    )
    with pytest.raises(BrokerHomeExistsError):
        init_broker_home(home, federation="socal", listen="127.0.0.1:0", now=NOW)
    with pytest.raises(BrokerSetupError, match="federation name"):
        init_broker_home(tmp_path / "b2", federation="Bad Name", listen="127.0.0.1:0", now=NOW)
    assert not (tmp_path / "b2").exists()


def test_secret_readable_by_others_is_refused(broker: BrokerHome) -> None:
    os.chmod(broker.home / "keys/operator.key", 0o644)
    with pytest.raises(BrokerSetupError, match="chmod 600"):
        BrokerHome.open(broker.home)


def test_add_update_remove_each_publish_a_new_version(
    broker: BrokerHome, make_card: CardMaker
) -> None:
    smpd = _member(make_card, "santa-monica-pd", "CA0194200")
    snap = add_member(broker, smpd, now=NOW)
    assert snap.directory.version == 2 and snap.directory.members == (smpd,)
    ccpd = _member(make_card, "culver-city-pd", "CA0194300", endpoint=None, relay_only=True)
    snap = add_member(broker, ccpd, now=NOW)
    assert snap.directory.version == 3
    assert [m.name for m in snap.directory.members] == ["culver-city-pd", "santa-monica-pd"]
    assert snap.directory.member("culver-city-pd") == dataclasses.replace(ccpd)
    assert ccpd.relay_only and ccpd.endpoint == ""

    snap = update_member(
        broker, "culver-city-pd", reach=Reachability("10.0.0.2:7443", False), now=LATER
    )
    moved = snap.directory.member("culver-city-pd")
    assert moved is not None and moved.endpoint == "10.0.0.2:7443" and not moved.relay_only
    assert snap.directory.issued_ms == int(LATER.timestamp() * 1000)

    cert, card, _ = make_card("santa-monica-pd-rotated", "CA0194200")
    rotated = read_card(cert, card)
    with pytest.raises(MemberError, match="--name"):  # a card of another node name
        update_member(broker, "santa-monica-pd", card=rotated, now=LATER)
    cert, card, keys = make_card("santa-monica-pd", "CA0194200")  # a key rotation
    snap = update_member(broker, "santa-monica-pd", card=read_card(cert, card), now=LATER)
    renewed = snap.directory.member("santa-monica-pd")
    assert renewed is not None and renewed.cert_sha256 == keys.tls.fingerprint
    assert renewed.cert_sha256 != smpd.cert_sha256 and renewed.endpoint == smpd.endpoint
    assert renewed.sealing_key == bytes(keys.sealing.public_key).hex()

    snap = remove_member(broker, "santa-monica-pd", now=LATER)
    assert snap.directory.version == 6
    assert [m.name for m in snap.directory.members] == ["culver-city-pd"]
    # Every version is kept and each verifies on its own.
    for version in range(1, 7):
        assert broker.snapshots.history(version).directory.version == version


def test_refusals_publish_nothing(broker: BrokerHome, make_card: CardMaker) -> None:
    smpd = _member(make_card, "santa-monica-pd", "CA0194200")
    add_member(broker, smpd, now=NOW)
    version = broker.current().directory.version
    twin = _member(make_card, "santa-monica-pd", "CA0194201")
    with pytest.raises(DuplicateMemberError, match="already a member"):
        add_member(broker, twin, now=NOW)
    same_cert = dataclasses.replace(smpd, name="other-pd", ori="CA0000009")
    with pytest.raises(DuplicateMemberError, match="certificate"):
        add_member(broker, same_cert, now=NOW)
    same_ori = _member(make_card, "other-pd", "CA0194200")
    with pytest.raises(DuplicateMemberError, match="ORI"):
        add_member(broker, same_ori, now=NOW)
    with pytest.raises(UnknownMemberError):
        remove_member(broker, "nobody-pd", now=NOW)
    with pytest.raises(UnknownMemberError):
        update_member(broker, "nobody-pd", reach=Reachability(None, True), now=NOW)
    with pytest.raises(MemberError, match="nothing to update"):
        update_member(broker, "santa-monica-pd", now=NOW)
    assert broker.current().directory.version == version


def test_the_card_must_say_what_the_operator_says(make_card: CardMaker) -> None:
    cert, card, _ = make_card("santa-monica-pd", "CA0194200")
    parsed = read_card(cert, card)
    for field, value in (
        ("name", "santa-monica"),
        ("ori", "CA0194201"),
        ("jurisdiction", "US-NV"),
        ("kind", "county"),
    ):
        claims = {
            "name": parsed.name,
            "ori": parsed.ori,
            "jurisdiction": "US-CA",
            "kind": "municipal",
        }
        claims[field] = value
        with pytest.raises(MemberError, match=f"--{field}"):
            member_from_card(parsed, reach=Reachability("h:1", False), **claims)
    with pytest.raises(MemberError, match="exactly one"):
        Reachability("h:1", True)
    with pytest.raises(MemberError, match="exactly one"):
        Reachability(None, False)
    with pytest.raises(MemberError, match="invalid endpoint"):
        member_from_card(
            parsed,
            name=parsed.name,
            ori=parsed.ori,
            jurisdiction="US-CA",
            kind="municipal",
            reach=Reachability("no port", False),
        )
    other_cert, _, _ = make_card("culver-city-pd", "CA0194300")
    with pytest.raises(MemberError, match="fingerprint"):
        read_card(other_cert, card)
    with pytest.raises(MemberError, match="cannot be read"):
        read_card(cert, card.parent / "missing.toml")


def test_resign_is_due_at_half_the_validity(broker: BrokerHome) -> None:
    assert broker.resign_if_due(now=NOW + dt.timedelta(minutes=29)) is None
    snap = broker.resign_if_due(now=NOW + dt.timedelta(minutes=31))
    assert snap is not None and snap.directory.version == 2
    assert snap.directory.expires_ms == int((NOW + dt.timedelta(minutes=91)).timestamp() * 1000)
    assert broker.publish(now=NOW + dt.timedelta(minutes=32)).directory.version == 3


def test_a_tampered_snapshot_is_refused_not_served(broker: BrokerHome) -> None:
    path = broker.snapshots.current_path
    doc = json.loads(path.read_bytes())
    doc["signature"] = base64.b64encode(bytes(64)).decode()
    path.write_text(json.dumps(doc))
    with pytest.raises(BrokerSetupError, match="not signed by this broker"):
        BrokerHome.open(broker.home).current()
