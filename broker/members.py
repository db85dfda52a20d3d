"""The operator's member commands: add, update, remove, list.

A member is admitted from the node's own certificate and public card (the files its
admin hands over), checked against what the operator says it is: name, ORI,
jurisdiction and kind must agree with the card, so a card of one agency cannot be filed
under another's name. Every change publishes a new signed directory version.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from broker.errors import DuplicateMemberError, MemberError, UnknownMemberError
from broker.home import BrokerHome
from broker.snapshots import Snapshot
from crypto.cards import CardError, NodeCard, parse_card
from crypto.directory import DirectoryError, Member


@dataclass(frozen=True, slots=True)
class Reachability:
    """Where peers reach a member: its own endpoint, or only through the broker's relay."""

    endpoint: str | None
    relay_only: bool

    def __post_init__(self) -> None:
        if self.relay_only == (self.endpoint is not None):
            raise MemberError("give exactly one of --endpoint HOST:PORT or --relay-only")


def read_card(cert_path: Path, keys_path: Path) -> NodeCard:
    """Read a node's certificate and card files; :class:`MemberError` names the bad one."""
    try:
        cert_pem = cert_path.read_bytes()
    except OSError as e:
        raise MemberError(f"{cert_path}: cannot be read ({e.strerror})") from e
    try:
        card = keys_path.read_bytes()
    except OSError as e:
        raise MemberError(f"{keys_path}: cannot be read ({e.strerror})") from e
    try:
        return parse_card(card, cert_pem)
    except CardError as e:
        raise MemberError(f"{keys_path} with {cert_path}: {e}") from e


def member_from_card(
    card: NodeCard, *, name: str, ori: str, jurisdiction: str, kind: str, reach: Reachability
) -> Member:
    claimed = {"name": name, "ori": ori, "jurisdiction": jurisdiction, "kind": kind}
    for field, value in claimed.items():
        if getattr(card, field) != value:
            raise MemberError(
                f"--{field} {value!r} does not match the node's card ({getattr(card, field)!r})"
            )
    member = Member(
        name=card.name,
        ori=card.ori,
        jurisdiction=card.jurisdiction,
        kind=card.kind,
        endpoint=reach.endpoint or "",
        relay_only=reach.relay_only,
        cert_pem=card.cert_pem.decode("ascii"),
        cert_sha256=card.cert_sha256,
        signing_key=card.signing_key.hex(),
        log_key=card.log_key.hex(),
        witness_key=card.witness_key.hex(),
        sealing_key=card.sealing_key.hex(),
    )
    _check(member)
    return member


def _check(member: Member) -> None:
    try:
        member.check()
    except DirectoryError as e:
        raise MemberError(str(e)) from e


def add_member(broker: BrokerHome, member: Member, *, now: dt.datetime) -> Snapshot:
    def edit(members: tuple[Member, ...]) -> tuple[Member, ...]:
        for m in members:
            if m.name == member.name:
                raise DuplicateMemberError(f"{member.name} is already a member")
            if m.cert_sha256 == member.cert_sha256:
                raise DuplicateMemberError(f"that certificate is already {m.name}'s")
            if m.ori == member.ori:
                raise DuplicateMemberError(f"ORI {member.ori} is already {m.name}'s")
        return (*members, member)

    return broker.change(edit, now=now)


def update_member(
    broker: BrokerHome,
    name: str,
    *,
    card: NodeCard | None = None,
    reach: Reachability | None = None,
    now: dt.datetime,
) -> Snapshot:
    """Replace a member's certificate and keys (a rotation) and/or how it is reached."""

    def edit(members: tuple[Member, ...]) -> tuple[Member, ...]:
        current = next((m for m in members if m.name == name), None)
        if current is None:
            raise UnknownMemberError(f"no member named {name}")
        updated = current
        if card is not None:
            updated = member_from_card(
                card,
                name=current.name,
                ori=current.ori,
                jurisdiction=current.jurisdiction,
                kind=current.kind,
                reach=Reachability(
                    None if current.relay_only else current.endpoint, current.relay_only
                ),
            )
            clash = next(
                (m for m in members if m.name != name and m.cert_sha256 == updated.cert_sha256),
                None,
            )
            if clash is not None:
                raise DuplicateMemberError(f"that certificate is already {clash.name}'s")
        if reach is not None:
            updated = dataclasses.replace(
                updated, endpoint=reach.endpoint or "", relay_only=reach.relay_only
            )
        _check(updated)
        return tuple(updated if m.name == name else m for m in members)

    if card is None and reach is None:
        raise MemberError("nothing to update: give --cert and --keys, --endpoint or --relay-only")
    return broker.change(edit, now=now)


def remove_member(broker: BrokerHome, name: str, *, now: dt.datetime) -> Snapshot:
    """Remove a member; every node refuses it once it fetched the new version."""

    def edit(members: tuple[Member, ...]) -> tuple[Member, ...]:
        if not any(m.name == name for m in members):
            raise UnknownMemberError(f"no member named {name}")
        return tuple(m for m in members if m.name != name)

    return broker.change(edit, now=now)
