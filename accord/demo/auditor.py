"""The demo's auditor: what an oversight body does with the files the nodes publish.

Each node exports its ledger as static tiles (with its verifier key and an audit policy
naming its witnesses) and its signed agreements; the auditor then verifies every
ledger, checks every exchange across them against the agreements and the law, and
publishes the transparency report, all offline and without a single plate.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from node.app import NodeApp, audit_policy_text
from node.exchange.agreement_export import export_file_name, exported_agreement
from node.ledger.export import export_tiles
from node.store.agreements import AgreementRepository
from node.store.db import session_scope

#: The legal profile the demo's (Californian) auditor checks against.
PROFILE = "us-ca-sb34"
AGREEMENTS_DIR = "agreements"
REPORT_DIR = "report"


async def export_and_verify(app: NodeApp, out: Path, *, quorum: int) -> str:
    """Export ``app``'s ledger and agreements under ``out`` and verify the ledger there."""
    from audit.policy import parse_policy
    from audit.source import DirectorySource
    from audit.verify import verify_log

    tiles = out / "ledger"
    size = await asyncio.to_thread(export_tiles, app.ledger, app.publisher, app.sessions, tiles)
    (out / "ledger.vkey").write_text(app.publisher.signer.verifier.vkey() + "\n")
    policy_text = audit_policy_text(app.config.home, quorum=quorum)
    (out / "audit-policy.toml").write_text(policy_text)
    agreements = await asyncio.to_thread(_export_agreements, app, out / AGREEMENTS_DIR)
    report = verify_log(DirectorySource(tiles), parse_policy(policy_text))
    return (
        f"exported {size} entries as tiles to {tiles} and {agreements} signed agreement(s); "
        f"accord audit verify: OK (root {report.root_hex[:16]}..., "
        f"{len(report.cosigners)} cosigners)"
    )


def _export_agreements(app: NodeApp, out: Path) -> int:
    out.mkdir(exist_ok=True)
    with session_scope(app.sessions) as s:
        stored = AgreementRepository(s).find()
    for agreement in stored:
        (out / export_file_name(agreement)).write_bytes(exported_agreement(agreement))
    return len(stored)


def check_federation(exports: list[Path]) -> str:
    """``accord audit check`` over every export; raises if anything is found."""
    from audit.check.run import run_check

    report = run_check(exports, [e / AGREEMENTS_DIR for e in exports], PROFILE)
    if report.findings:
        codes = ", ".join(sorted({f.code for f in report.findings}))
        raise RuntimeError(f"{len(report.findings)} finding(s): {codes}")
    return (
        f"{len(report.ledgers)} ledgers, {len(report.documents)} agreement document(s), "
        f"profile {PROFILE}: every exchange paired across both ledgers and within its "
        "agreement; no finding"
    )


def publish_report(exports: list[Path], out: Path) -> str:
    """``accord audit report``: the public page and its JSON, from verified ledgers only."""
    from audit.ledger_set import discover, load_ledgers
    from audit.report import HTML_FILE, build_report, write_report

    ledgers = load_ledgers(discover(exports))
    if ledgers.excluded:
        raise RuntimeError(f"{len(ledgers.excluded)} ledger(s) failed verification")
    write_report(build_report(ledgers), out)
    return f"{len(ledgers.verified)} verified ledgers; open {out / HTML_FILE}"
