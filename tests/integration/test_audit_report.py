"""The transparency report of a real federation, rendered in headless Chromium.

Two nodes serve mutual TLS on loopback, make an agreement through the real workflow, and
exchange hit queries (answered and refused); each ledger is witnessed by the other node,
exported as tiles with its key, audit policy and signed agreements, and ``accord audit
report`` runs on the exports as an auditor would. The page is then opened in Debian's Chromium (driven by
Playwright) at phone and desktop width: it must render with no console error, make no
request outside the page itself, fit the phone's width, and produce a real screenshot.

Without Chromium (``/usr/bin/chromium``, or ``ACCORD_CHROMIUM``) or Playwright the render
test skips with the reason, unless ``ACCORD_REQUIRE_CHROMIUM=1`` (CI), where it fails.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from audit.ledger_set import AGREEMENTS_DIR, LOG_DIR, POLICY_FILE, VKEY_FILE
from node.app import NodeApp, audit_policy_text
from node.exchange.agreement_export import export_file_name, exported_agreement
from node.ledger.export import export_tiles
from node.store.agreements import AgreementRepository
from node.store.db import session_scope
from tests.support.cli import accord
from tests.support.federation import NodeSpec, add_reads, agree, federation

pytestmark = pytest.mark.slow

NOW = dt.datetime.now(dt.UTC)
SMPD, CCPD = "santa-monica-pd", "culver-city-pd"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


async def _exchange_and_export(homes: Path, exports: Path) -> None:
    specs = [NodeSpec(SMPD, "CA0194200"), NodeSpec(CCPD, "CA0190500")]
    async with federation(homes, specs) as (smpd, ccpd):
        add_reads(ccpd, ["7QRS482", "8ABC123", "5XYZ999"], at=NOW - dt.timedelta(minutes=30))
        await agree(smpd, ccpd)
        await ccpd.indexer.run_once()
        asks: list[dict[str, object]] = [
            {"plates": ["7QRS482", "4NOPE00"]},
            {"plates": ["8ABC123"]},
            {"plates": ["7QRS482"], "purpose": "immigration"},  # refused: agreement.purpose
        ]
        for extra in asks:
            args: dict[str, object] = {
                "peers": [CCPD],
                "plates": ["7QRS482"],
                "purpose": "stolen-vehicle",
                "case_number": "24-00123",
                "days": 7,
                "user": "officer-17",
                **extra,
            }
            await smpd.queries.query_hits(**args)  # type: ignore[arg-type]
        for app in (smpd, ccpd):
            await _witness_and_export(app, exports / app.config.name)


async def _witness_and_export(app: NodeApp, out: Path) -> None:
    app.heartbeat_s = 0  # sign now, then have the peer cosign
    checkpoint = await app.publish_once()
    assert checkpoint is not None
    out.mkdir(parents=True)
    await asyncio.to_thread(export_tiles, app.ledger, app.publisher, app.sessions, out / LOG_DIR)
    (out / VKEY_FILE).write_text(app.publisher.signer.verifier.vkey() + "\n")
    (out / POLICY_FILE).write_text(audit_policy_text(app.config.home, quorum=1))
    (out / AGREEMENTS_DIR).mkdir()
    with session_scope(app.sessions) as s:
        for stored in AgreementRepository(s).find():
            data = exported_agreement(stored)
            (out / AGREEMENTS_DIR / export_file_name(stored)).write_bytes(data)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("federation")
    asyncio.run(_exchange_and_export(base / "homes", base / "exports"))
    out = base / "report"
    result = accord("audit", "report", "--ledgers", str(base / "exports"), "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"verified {SMPD}" in result.stdout and f"verified {CCPD}" in result.stdout
    return out


def test_report_of_a_real_federation(report_dir: Path) -> None:
    doc = json.loads((report_dir / "report.json").read_text())
    assert [v["node"] for v in doc["ledgers"]["verified"]] == [CCPD, SMPD]
    assert doc["ledgers"]["excluded"] == []
    for ledger in doc["ledgers"]["verified"]:
        peer = SMPD if ledger["node"] == CCPD else CCPD
        assert [c["name"] for c in ledger["cosigners"]] == [f"accord/{peer}/witness"]
    assert doc["agreements"]["in_force"] == 1
    [agreement] = doc["agreements"]["agreements"]
    assert agreement["parties"] == [CCPD, SMPD] and agreement["logged_by"] == [CCPD, SMPD]
    # Judged by the signed document each node exported beside its ledger.
    assert agreement["state"] == "in_force" and agreement["valid_until"] is not None
    assert doc["agreements"]["documents"] == {"verified": 1, "rejected": []}
    # Three exchanges, each on both ledgers, counted once; every count is under 5.
    assert doc["queries"]["by_agency_and_purpose"] == [
        {"requester": SMPD, "purpose": "immigration", "queries": "<5"},
        {"requester": SMPD, "purpose": "stolen-vehicle", "queries": "<5"},
    ]
    assert doc["queries"]["total"] == {"min": 2, "max": 8}
    assert doc["refusals"]["by_rule"] == [{"rule_ids": ["agreement.purpose"], "refusals": "<5"}]
    [hits] = doc["hits"]["by_agency"]
    assert (hits["requester"], hits["plates"], hits["hits"]) == (SMPD, "<5", "<5")
    # No plate appears anywhere in what is published.
    published = (report_dir / "report.json").read_text() + (report_dir / "index.html").read_text()
    for plate in ("7QRS482", "8ABC123", "5XYZ999", "4NOPE00"):
        assert plate not in published


def _chromium() -> str:
    required = os.environ.get("ACCORD_REQUIRE_CHROMIUM") == "1"
    path = os.environ.get("ACCORD_CHROMIUM") or shutil.which("chromium") or ""
    if path and not os.access(path, os.X_OK):
        path = ""
    missing = ""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "the playwright package is missing (pip install -e '.[dev]')"
    if not path:
        missing = "Chromium is not installed (Debian: apt-get install chromium)"
    if missing:
        if required:
            pytest.fail(f"ACCORD_REQUIRE_CHROMIUM=1 but {missing}")
        pytest.skip(missing)
    return path


@pytest.mark.parametrize(("name", "width", "height"), [("phone", 390, 844), ("desktop", 1280, 800)])
def test_renders_in_headless_chromium(
    request: pytest.FixtureRequest, tmp_path: Path, name: str, width: int, height: int
) -> None:
    executable = _chromium()  # before the federation is built: a skip costs nothing
    report_dir: Path = request.getfixturevalue("report_dir")
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    requests: list[str] = []
    shot = tmp_path / f"report-{name}.png"
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=args)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on(
                "console",
                lambda m: (
                    problems.append(f"{m.type}: {m.text}")
                    if m.type in ("error", "warning")
                    else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto((report_dir / "index.html").as_uri(), wait_until="load")
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            headings = page.locator("h2").all_inner_texts()
            chart_labels = page.locator("svg[role=img] title").all_text_contents()
            # Screen readers name each chart by its title and its description in words.
            named = page.get_by_role("img", name="Queries by purpose").count()
            png = page.screenshot(path=str(shot))
        finally:
            browser.close()
    assert problems == []
    assert requests == [(report_dir / "index.html").as_uri()]  # nothing outside the page
    assert scroll_width <= width  # no sideways scrolling of the page itself
    assert headings[:5] == ["Agreements", "Queries", "Hit rates", "Refusals", "Retention"]
    assert chart_labels == [
        "Queries by purpose",
        "Queries by requesting agency",
        "Refusals by rule",
    ]
    assert named == 1
    assert png.startswith(PNG_SIGNATURE) and shot.read_bytes() == png
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (height, width, 3)
    # Not blank: text, cards and rules give many colours and a good share of non-white.
    colours = np.unique(image.reshape(-1, 3), axis=0)
    assert len(colours) > 50
    assert (image.min(axis=2) < 200).mean() > 0.02
