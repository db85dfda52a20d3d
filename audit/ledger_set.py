"""A set of ledgers, each verified on its own, for figures and checks that span nodes.

Layout of what ``accord ledger export`` and ``accord demo`` leave for an auditor, one
*export directory* per node::

    <dir>/ledger/              C2SP tlog-tiles (checkpoint, tile/..., accord/checkpoints/...)
    <dir>/ledger.vkey          the log's verifier key (signed-note vkey), one line
    <dir>/audit-policy.toml    optional: log key, witness keys, quorum (audit/policy.py)
    <dir>/agreements/          optional: the node's signed agreements, one file per version
                               (accord agreement export; read by audit/documents.py)

:func:`discover` takes export directories, or directories whose immediate children are
export directories (the demo's base directory), and :func:`spec_for` takes an explicit
tiles directory and policy file. :func:`load_ledgers` verifies each one with
:func:`audit.verify.verify_log` and sorts them into verified and excluded: a ledger that
fails is named with its reason and none of its entries is handed back, so nothing built on
a :class:`LedgerSet` can count an unverified entry by mistake. The set also names the
``agreements/`` directories found with the ledgers (:attr:`LedgerSet.agreement_dirs`),
for the transparency report to read the agreements' signed terms from.

Trust: the keys are read from files beside the tiles. An auditor who obtained the keys out
of band (as they should) passes explicit pairs with :func:`spec_for`; a key file that
disagrees with the policy's log key excludes the ledger.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from audit.errors import AuditError, AuditPolicyError, LogSourceError, VerificationError
from audit.policy import VerifyPolicy, load_policy
from audit.source import DirectorySource
from audit.verify import verify_log
from crypto.entries import Entry, EntryError, decode_entry
from crypto.note import ALG_ED25519, NoteError, NoteVerifier

LOG_DIR = "ledger"
VKEY_FILE = "ledger.vkey"
POLICY_FILE = "audit-policy.toml"
AGREEMENTS_DIR = "agreements"


@dataclass(frozen=True, slots=True)
class LedgerSpec:
    """One ledger to load: where its tiles are and what it is verified against.

    ``label`` is how reports name it (the export directory's name). At least one of
    ``policy`` and ``vkey`` is set; with both, they must name the same log key.
    ``agreements`` is the directory of the node's signed agreements, if it exported one.
    """

    label: str
    log: Path
    policy: Path | None
    vkey: Path | None
    agreements: Path | None = None


@dataclass(frozen=True, slots=True)
class VerifiedLedger:
    """A ledger that verified in full, with its entries decoded in log order."""

    label: str
    origin: str
    #: The node that wrote it (``accord/<node>/ledger``); every entry names this node.
    node: str
    size: int
    root_hex: str
    #: Witnesses whose cosignature on the latest checkpoint verified, sorted.
    cosigners: tuple[str, ...]
    #: Latest cosignature time (Unix seconds) of each cosigner.
    cosigned_at: Mapping[str, int]
    #: The policy's witnesses and quorum; ``()`` and 0 for a ledger checked by its key
    #: alone (no policy file): signed by its node, but not witnessed against a split view.
    witnesses: tuple[str, ...]
    quorum: int
    checkpoints_checked: int
    entries: tuple[Entry, ...]

    @property
    def witnessed(self) -> bool:
        return self.quorum > 0


@dataclass(frozen=True, slots=True)
class ExcludedLedger:
    """A ledger left out, and why (the first violation or the unreadable file)."""

    label: str
    location: str
    reason: str


@dataclass(frozen=True, slots=True)
class LedgerSet:
    verified: tuple[VerifiedLedger, ...]
    excluded: tuple[ExcludedLedger, ...]
    #: The ``agreements/`` directories of every export loaded, whether its ledger verified
    #: or not: a document is used only for a hash a verified ledger records, whoever
    #: handed it over (audit/documents.py).
    agreement_dirs: tuple[Path, ...] = ()

    def entries(self) -> list[tuple[VerifiedLedger, Entry]]:
        """Every verified entry with its ledger, ledger by ledger, in log order."""
        return [(ledger, e) for ledger in self.verified for e in ledger.entries]


def _is_export(path: Path) -> bool:
    return (path / LOG_DIR).is_dir() and (
        (path / VKEY_FILE).is_file() or (path / POLICY_FILE).is_file()
    )


def _export_spec(path: Path) -> LedgerSpec:
    policy, vkey, agreements = path / POLICY_FILE, path / VKEY_FILE, path / AGREEMENTS_DIR
    return LedgerSpec(
        label=path.name,
        log=path / LOG_DIR,
        policy=policy if policy.is_file() else None,
        vkey=vkey if vkey.is_file() else None,
        agreements=agreements if agreements.is_dir() else None,
    )


def discover(paths: Sequence[Path]) -> list[LedgerSpec]:
    """The ledgers under ``paths``: each is an export directory or holds some.

    Raises :class:`LogSourceError` for a path that is neither (a typo must not shrink the
    report silently). Children are taken in name order, so reports are reproducible.
    """
    specs: list[LedgerSpec] = []
    for path in paths:
        if _is_export(path):
            specs.append(_export_spec(path))
            continue
        if not path.is_dir():
            raise LogSourceError(f"{path}: no such directory")
        children = sorted(p for p in path.iterdir() if p.is_dir() and _is_export(p))
        if not children:
            raise LogSourceError(
                f"{path}: holds no ledger export ({LOG_DIR}/ with {VKEY_FILE} or {POLICY_FILE})"
            )
        specs.extend(_export_spec(p) for p in children)
    return specs


def spec_for(
    log: Path, policy: Path, *, label: str | None = None, agreements: Path | None = None
) -> LedgerSpec:
    """An explicit tiles directory and policy file (keys obtained out of band), and the
    node's signed agreements if given."""
    return LedgerSpec(
        label=label or log.name, log=log, policy=policy, vkey=None, agreements=agreements
    )


def _policy(spec: LedgerSpec) -> VerifyPolicy:
    policy = load_policy(spec.policy) if spec.policy is not None else None
    if spec.vkey is None:
        if policy is None:
            raise AuditPolicyError(f"{spec.label}: neither a policy nor a log key")
        return policy
    try:
        text = spec.vkey.read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise AuditPolicyError(f"{spec.vkey}: cannot be read: {e}") from e
    try:
        key = NoteVerifier.parse(text)
    except NoteError as e:
        raise AuditPolicyError(f"{spec.vkey}: {e}") from e
    if key.alg != ALG_ED25519:
        raise AuditPolicyError(f"{spec.vkey}: the log key must be Ed25519")
    if policy is None:
        return VerifyPolicy(key, (), 0)
    if policy.log != key:
        raise AuditPolicyError(f"{spec.vkey}: not the log key of {spec.policy}")
    return policy


def _node_of(origin: str) -> str:
    parts = origin.split("/")
    if len(parts) == 3 and parts[0] == "accord" and parts[2] == "ledger":
        return parts[1]
    raise VerificationError(f"origin {origin!r} is not an Accord node log (accord/<node>/ledger)")


def load_ledger(spec: LedgerSpec, *, workers: int | None = None) -> VerifiedLedger:
    """Verify one ledger in full and decode its entries; raises :class:`AuditError`."""
    policy = _policy(spec)
    report = verify_log(DirectorySource(spec.log), policy, workers=workers, keep_entries=True)
    node = _node_of(report.origin)
    entries: list[Entry] = []
    for i, raw in enumerate(report.entries):
        try:
            entry = decode_entry(raw)
        except EntryError as e:  # verify_log checked it already: this is a bug, not input
            raise VerificationError(f"entry {i}: {e}") from e
        if entry.node != node:
            raise VerificationError(f"entry {i} names node {entry.node!r}, the log is {node!r}'s")
        entries.append(entry)
    return VerifiedLedger(
        label=spec.label,
        origin=report.origin,
        node=node,
        size=report.size,
        root_hex=report.root_hex,
        cosigners=tuple(report.cosigners),
        cosigned_at=dict(report.cosigned_at),
        witnesses=tuple(w.name for w in policy.witnesses),
        quorum=policy.quorum,
        checkpoints_checked=report.checkpoints_checked,
        entries=tuple(entries),
    )


def load_ledgers(specs: Sequence[LedgerSpec], *, workers: int | None = None) -> LedgerSet:
    """Verify every ledger; each failure is excluded with its reason, never raised.

    A second ledger with an origin already loaded is excluded too (two copies of one log,
    or two logs claiming one node), so no entry is ever counted twice. The specs'
    agreement directories are only named here; :mod:`audit.documents` reads them.
    """
    verified: list[VerifiedLedger] = []
    excluded: list[ExcludedLedger] = []
    seen: dict[str, str] = {}
    for spec in specs:
        try:
            ledger = load_ledger(spec, workers=workers)
        except AuditError as e:
            excluded.append(ExcludedLedger(spec.label, str(spec.log), str(e)))
            continue
        if ledger.origin in seen:
            reason = f"{ledger.origin} is already loaded from {seen[ledger.origin]}"
            excluded.append(ExcludedLedger(spec.label, str(spec.log), reason))
            continue
        seen[ledger.origin] = str(spec.log)
        verified.append(ledger)
    agreements = tuple(dict.fromkeys(s.agreements for s in specs if s.agreements is not None))
    return LedgerSet(tuple(verified), tuple(excluded), agreements)
