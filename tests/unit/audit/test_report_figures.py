"""Report figures from real ledgers (SQLite log, signed checkpoints, witness cosignatures,
exported tiles): each exchange counted once, refusals by rule, deadlines met and missed,
small counts withheld, and a ledger that fails verification counted nowhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from audit.ledger_set import LOG_DIR, discover, load_ledgers
from audit.report import build_report, write_report
from audit.report.publish import Json
from audit.report.retention import DAY_MS
from crypto.entries import Entry
from tests.unit.audit.ledger_builder import T0_MS, build_export, entry, hex32

EPOCH0 = T0_MS // DAY_MS
AGREEMENT = "ag-alpha-bravo"


def query(
    node: str, kind: str, t: int, peer: str, rid: str, purpose: str, plates: int, **extra: Any
) -> Entry:
    return entry(
        node,
        kind,
        t,
        request_id=rid,
        peer=peer,
        agreement_id=AGREEMENT,
        agreement_hash=hex32(AGREEMENT),
        purpose=purpose,
        case_commit=hex32(f"case/{rid}"),
        actor=hex32("officer-7"),
        window_days=7,
        batch_size=plates,
        q_commit=hex32(f"q/{rid}"),
        **extra,
    )


def agreement(
    node: str,
    t: int,
    peer: str,
    role: str,
    aid: str = AGREEMENT,
    kind: str = "agreement.created",
    version: int = 1,
) -> Entry:
    return entry(
        node,
        kind,
        t,
        agreement_id=aid,
        version=version,
        agreement_hash=hex32(f"{aid}/{version}"),
        peer=peer,
        role=role,
    )


def deleted(node: str, data_class: str, epoch: int, at_ms: int, **counts: int) -> Entry:
    return entry(
        node,
        "retention.deleted",
        at_ms,
        data_class=data_class,
        epoch=epoch,
        counts=counts,
        deleted_root=hex32(f"{node}/{data_class}/{epoch}"),
    )


def setting(node: str, t: int, detail: str) -> Entry:
    return entry(
        node, "admin.action", t, action="retention.set", actor=hex32("admin"), detail=detail
    )


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """alpha asks bravo (both ledgers loaded); alpha also asks delta, whose ledger is not
    loaded; charlie's ledger is tampered with after export."""
    base = tmp_path_factory.mktemp("exports")
    alpha = [
        agreement("alpha", T0_MS, "bravo", "requester"),
        agreement("alpha", T0_MS + 1, "delta", "requester", aid="ag-alpha-delta"),
        setting("alpha", T0_MS + 2, "received_hits=30d (cap none, US-CA)"),
    ]
    bravo = [
        agreement("bravo", T0_MS, "alpha", "responder"),
        agreement("bravo", T0_MS + 1, "echo", "responder", aid="ag-bravo-echo"),
        entry(
            "bravo",
            "agreement.revoked",
            T0_MS + 2,
            agreement_id="ag-bravo-echo",
            version=1,
            agreement_hash=hex32("ag-bravo-echo/1"),
            peer="echo",
            reason="expired",
        ),
        setting("bravo", T0_MS + 3, "reads: 14 days (cap 21 days, US-ME)"),
    ]
    t = T0_MS + 1000
    # 7 stolen-vehicle queries of 10 plates, answered with 2 hits each.
    for i in range(7):
        rid = f"sv-{i}"
        alpha.append(query("alpha", "query.sent", t, "bravo", rid, "stolen-vehicle", 10))
        bravo.append(
            query(
                "bravo",
                "query.received",
                t + 1,
                "alpha",
                rid,
                "stolen-vehicle",
                10,
                decision="allow",
                rule_ids=["agreement.in-force"],
            )
        )
        alpha.append(
            entry(
                "alpha",
                "answer.received",
                t + 2,
                request_id=rid,
                peer="bravo",
                q_commit=hex32(f"q/{rid}"),
                hits=2,
                receipt_index=i,
            )
        )
        t += 10
    # 2 homicide queries refused by two rules at once, and 6 refused by the daily budget.
    for i in range(8):
        rid = f"hom-{i}"
        purpose, rules = (
            ("homicide", ["sb34.federal", "purpose.not-allowed"])
            if i < 2
            else ("stolen-vehicle", ["rate.daily-plates"])
        )
        alpha.append(query("alpha", "query.sent", t, "bravo", rid, purpose, 3))
        bravo.append(
            query(
                "bravo",
                "query.received",
                t + 1,
                "alpha",
                rid,
                purpose,
                3,
                decision="deny",
                rule_ids=rules,
            )
        )
        t += 10
    # A query bravo refused before it could be read.
    bravo.append(
        entry(
            "bravo",
            "admin.action",
            t,
            action="query.refused",
            actor=hex32("peer:alpha"),
            detail="request.stale from alpha",
        )
    )
    # 5 amber-alert queries to delta (its ledger is not loaded), 1 plate each, no hits.
    for i in range(5):
        rid = f"amber-{i}"
        alpha.append(query("alpha", "query.sent", t, "delta", rid, "amber-alert", 1))
        alpha.append(
            entry(
                "alpha",
                "answer.received",
                t + 1,
                request_id=rid,
                peer="delta",
                q_commit=hex32(f"q/{rid}"),
                hits=0,
                receipt_index=i,
            )
        )
        t += 10
    # bravo deletes reads: epoch 0 on time (10 minutes after the deadline), epoch 1 six
    # hours late; crops have no logged setting.
    bravo.append(
        deleted("bravo", "reads", EPOCH0, (EPOCH0 + 15) * DAY_MS + 600_000, reads=120, crops=3)
    )
    bravo.append(
        deleted("bravo", "reads", EPOCH0 + 1, (EPOCH0 + 16) * DAY_MS + 6 * 3_600_000, reads=80)
    )
    bravo.append(
        deleted("bravo", "crops", EPOCH0 + 1, (EPOCH0 + 16) * DAY_MS + 7 * 3_600_000, crops=9)
    )
    # alpha deletes received hits after 30 days, on time.
    alpha.append(
        deleted("alpha", "received_hits", EPOCH0, (EPOCH0 + 31) * DAY_MS + 60_000, received_hits=14)
    )
    alpha.sort(key=lambda e: e.time_ms)
    bravo.sort(key=lambda e: e.time_ms)
    build_export(base, "alpha", alpha, witnesses=("bravo", "delta"))
    build_export(base, "bravo", bravo, witnesses=("alpha",))
    charlie = [
        query("charlie", "query.sent", T0_MS + 5 + i, "bravo", f"c-{i}", "fraud", 50)
        for i in range(9)
    ]
    build_export(base, "charlie", charlie, witnesses=("bravo",))
    bundle = base / "charlie" / LOG_DIR / "checkpoint"
    bundle.write_bytes(bundle.read_bytes().replace(b"\n9\n", b"\n8\n", 1))
    return base


@pytest.fixture(scope="module")
def doc(exports: Path) -> Json:
    return build_report(load_ledgers(discover([exports])))


def test_format_and_period(doc: Json) -> None:
    assert (doc["format"], doc["version"]) == ("accord/transparency-report", 1)
    assert doc["period"]["from"] == "2027-01-01T00:00:00Z"


def test_failing_ledger_is_excluded_and_counted_nowhere(doc: Json) -> None:
    assert [v["node"] for v in doc["ledgers"]["verified"]] == ["alpha", "bravo"]
    [bad] = doc["ledgers"]["excluded"]
    assert bad["label"] == "charlie" and "checkpoint" in bad["reason"]
    assert "charlie" not in json.dumps(doc["queries"]) + json.dumps(doc["hits"])
    assert all(r["purpose"] != "fraud" for r in doc["queries"]["by_purpose"])


def test_agreements_with_whom_and_none_in_force_without_documents(doc: Json) -> None:
    """These exports carry no signed agreements: the ledgers alone cannot say whether an
    unrevoked agreement is still valid (audit/report/agreements.py judges with documents)."""
    ag = {a["agreement_id"]: a for a in doc["agreements"]["agreements"]}
    assert doc["agreements"]["in_force"] == 0
    assert doc["agreements"]["by_state"]["unknown"] == 2
    assert ag[AGREEMENT]["parties"] == ["alpha", "bravo"]
    assert ag[AGREEMENT]["roles"] == {"alpha": "requester", "bravo": "responder"}
    assert ag[AGREEMENT]["logged_by"] == ["alpha", "bravo"]
    assert ag[AGREEMENT]["agreement_hash"] == hex32(f"{AGREEMENT}/1")
    assert ag["ag-alpha-delta"]["state"] == "unknown" and not ag["ag-alpha-delta"]["in_force"]
    assert ag["ag-alpha-delta"]["logged_by"] == ["alpha"]
    assert ag["ag-alpha-delta"]["valid_until"] is None
    assert ag["ag-bravo-echo"]["state"] == "revoked" and not ag["ag-bravo-echo"]["in_force"]
    assert ag["ag-bravo-echo"]["revoked_reason"] == "expired"


def test_queries_counted_once_with_small_counts_withheld(doc: Json) -> None:
    q = doc["queries"]
    # 7 + 6 stolen-vehicle (each logged on both sides, counted once), 2 homicide, 5 amber.
    assert q["by_agency_and_purpose"] == [
        {"requester": "alpha", "purpose": "amber-alert", "queries": 5},
        {"requester": "alpha", "purpose": "homicide", "queries": "<5"},
        {"requester": "alpha", "purpose": "stolen-vehicle", "queries": 13},
    ]
    assert q["by_purpose"][1] == {"purpose": "homicide", "queries": {"min": 1, "max": 4}}
    assert q["by_agency"] == [{"requester": "alpha", "queries": {"min": 19, "max": 22}}]
    assert q["total"] == {"min": 19, "max": 22}


def test_refusals_by_rule(doc: Json) -> None:
    r = doc["refusals"]
    assert r["by_rule"] == [
        {"rule_ids": ["purpose.not-allowed", "sb34.federal"], "refusals": "<5"},
        {"rule_ids": ["rate.daily-plates"], "refusals": 6},
        {"rule_ids": ["request.stale"], "refusals": "<5"},
    ]
    assert r["total"] == {"min": 8, "max": 14}


def test_hit_rates(doc: Json) -> None:
    h = doc["hits"]
    # Answered: 7 x 10 plates to bravo (14 hits) and 5 x 1 plate to delta (0 hits).
    assert h["by_agency"] == [
        {"requester": "alpha", "plates": 75, "hits": 14, "hit_rate_percent": 18.7}
    ]
    assert h["total"] == {"plates": 75, "hits": 14, "hit_rate_percent": 18.7}


def test_retention_settings_and_deadlines(doc: Json) -> None:
    ret = doc["retention"]
    assert [(s["node"], s["data_class"], s["max_age_seconds"]) for s in ret["settings"]] == [
        ("alpha", "received_hits", 30 * 86_400),
        ("bravo", "reads", 14 * 86_400),
    ]
    by = {(d["node"], d["data_class"], d["epoch"]): d for d in ret["deletions"]}
    on_time = by[("bravo", "reads", EPOCH0)]
    assert on_time["on_time"] is True
    assert on_time["deadline"] == "2027-01-16T00:00:00Z"
    assert on_time["records"] == {"crops": "<5", "reads": 120}
    assert by[("bravo", "reads", EPOCH0 + 1)]["on_time"] is False
    no_setting = by[("bravo", "crops", EPOCH0 + 1)]
    assert no_setting["on_time"] is None and no_setting["deadline"] is None
    assert by[("alpha", "received_hits", EPOCH0)]["on_time"] is True
    assert ret["summary"] == [
        {
            "node": "alpha",
            "data_class": "received_hits",
            "epochs": 1,
            "on_time": 1,
            "late": 0,
            "no_deadline": 0,
        },
        {
            "node": "bravo",
            "data_class": "crops",
            "epochs": 1,
            "on_time": 0,
            "late": 0,
            "no_deadline": 1,
        },
        {
            "node": "bravo",
            "data_class": "reads",
            "epochs": 2,
            "on_time": 1,
            "late": 1,
            "no_deadline": 0,
        },
    ]


def test_witnesses_and_latest_checkpoint(doc: Json) -> None:
    alpha = doc["ledgers"]["verified"][0]
    assert alpha["origin"] == "accord/alpha/ledger"
    assert [c["name"] for c in alpha["cosigners"]] == [
        "accord/bravo/witness",
        "accord/delta/witness",
    ]
    assert alpha["quorum"] == 2 and alpha["witnessed"]
    assert len(alpha["root"]) == 64 and alpha["size"] > 0


def test_a_node_without_logged_settings_gets_no_deadline(tmp_path: Path) -> None:
    build_export(
        tmp_path, "golf", [deleted("golf", "reads", EPOCH0, (EPOCH0 + 40) * DAY_MS, reads=7)]
    )
    doc = build_report(load_ledgers(discover([tmp_path])))
    assert doc["retention"]["nodes_without_settings"] == ["golf"]
    [d] = doc["retention"]["deletions"]
    assert d["on_time"] is None and d["deadline"] is None


def test_page_and_json_hold_the_same_withheld_figures(doc: Json, tmp_path: Path) -> None:
    html_path, json_path = write_report(doc, tmp_path / "report")
    assert json.loads(json_path.read_text()) == doc
    page = html_path.read_text()
    assert "&lt;5" in page and "19 to 22" in page
    assert "charlie" in page and "failed verification" in page
    for forbidden in ("<script", "http://", "https://", "<img", "@import", "url(http"):
        assert forbidden not in page
    assert page.count("<caption>") >= 8 and page.count('role="img"') == 3


def test_the_nodes_own_retention_declaration_sets_the_deadlines(tmp_path: Path) -> None:
    """The detail the node itself writes (node.retention.purge.declaration), read back."""
    from node.retention.purge import declaration
    from node.retention.settings import RetentionSettings

    detail = declaration(RetentionSettings.from_days("US-ME", {"reads": 14}))
    hour = 3_600_000
    build_export(
        tmp_path,
        "hotel",
        [
            setting("hotel", T0_MS, detail),
            # reads: 14 days after the day ended, logged 30 minutes after: on time.
            deleted("hotel", "reads", EPOCH0, (EPOCH0 + 15) * DAY_MS + hour // 2, reads=40),
            # a held-reads epoch is a case hold, not a day: no deadline, said why.
            deleted("hotel", "held_reads", 7, (EPOCH0 + 20) * DAY_MS, reads=9),
            # query records (capped at 21 days in Maine) wait an hour more for the replay
            # window: 1.5 hours after the 21 days is on time.
            deleted("hotel", "query_records", EPOCH0, (EPOCH0 + 22) * DAY_MS + 3 * hour // 2),
        ],
    )
    doc = build_report(load_ledgers(discover([tmp_path])))
    settings = {s["data_class"]: s for s in doc["retention"]["settings"]}
    assert settings["reads"]["max_age_seconds"] == 14 * 86_400
    assert settings["crops"]["max_age_seconds"] == 21 * 86_400  # Maine's cap
    assert settings["query_records"]["max_age_seconds"] == 21 * 86_400
    assert settings["reads"]["jurisdiction"] == "US-ME"
    by = {d["data_class"]: d for d in doc["retention"]["deletions"]}
    assert by["reads"]["on_time"] is True
    assert by["query_records"]["on_time"] is True
    held = by["held_reads"]
    assert held["on_time"] is None and held["epoch_day"] is None
    assert "case hold" in held["no_deadline"]
