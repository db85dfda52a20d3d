"""The report as one static, self-contained HTML page, rendered from the published document.

Rendering reads :func:`audit.report.publish.publish_figures`'s output only, so the page shows
exactly the JSON's figures (suppressed the same way). No script, no external stylesheet,
font or image: CSS is inline and charts are inline SVG (:mod:`audit.report.svg`). The
layout is one column that fits a 390 px phone screen; wide tables scroll inside their own
focusable region. Every table has a caption, every chart a text alternative.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from audit.report.publish import Json, bounds
from audit.report.svg import Bar, bar_chart

_CSS = """
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1a1a1a;background:#fff}
header,main,footer{max-width:60rem;margin:0 auto;padding:0 1rem}
header{padding-top:1.25rem}
h1{font-size:1.6rem;line-height:1.2;margin:.25rem 0 .5rem}
h2{font-size:1.25rem;margin:2rem 0 .5rem;padding-top:.5rem;border-top:2px solid #1f5fa8}
h3{font-size:1.05rem;margin:1.25rem 0 .25rem}
p{margin:.5rem 0}
.muted{color:#4a4a4a}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(9.5rem,1fr));gap:.75rem;
margin:1rem 0;padding:0;list-style:none}
.cards li{border:1px solid #c9d6e8;border-radius:.5rem;padding:.6rem .75rem;background:#f5f8fc}
.cards b{display:block;font-size:1.35rem;font-variant-numeric:tabular-nums}
.alert{border:2px solid #8a1c1c;background:#fdf2f2;color:#5c1010;border-radius:.5rem;
padding:.6rem .8rem;margin:1rem 0}
.scroll{overflow-x:auto;margin:.5rem 0 1rem}
.scroll:focus{outline:2px solid #1f5fa8}
table{border-collapse:collapse;width:100%;font-size:.92rem}
caption{text-align:left;font-weight:600;padding:.3rem 0;caption-side:top}
th,td{padding:.35rem .45rem;border-bottom:1px solid #d7d7d7;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid #777}
th.n{white-space:normal}
.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font-size:.82em;word-break:break-all;overflow-wrap:anywhere}
.late{color:#8a1c1c;font-weight:600}
.ok{color:#135e26}
.chart{width:100%;max-width:36rem;height:auto;display:block;margin:.5rem 0}
.chart text{font:13px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;fill:#1a1a1a}
.chart .bv{font-weight:600}
details{margin:.5rem 0 1rem}
summary{cursor:pointer;font-weight:600}
footer{margin:2rem auto 2rem;font-size:.9rem}
@media (max-width:30rem){table{font-size:.84rem}th,td{padding:.3rem .3rem}}
"""


def _text(value: Any) -> str:
    """A published count, total or rate as plain text ("1,204", "<5", "12 to 15")."""
    if isinstance(value, dict):
        return f"{value['min']:,} to {value['max']:,}"
    if isinstance(value, bool) or value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _num(value: Any) -> str:
    """:func:`_text`, escaped for HTML."""
    return escape(_text(value))


def _rate(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        return f"{value['min']:.1f} to {value['max']:.1f} %"
    return f"{value:.1f} %"


def _table(
    caption: str, head: Sequence[str], rows: Iterable[Sequence[str]], *, numeric: Sequence[int] = ()
) -> str:
    """A captioned table in a focusable scroll region; cells are trusted HTML."""
    th = "".join(
        f'<th scope="col"{" class=n" if i in numeric else ""}>{escape(h)}</th>'
        for i, h in enumerate(head)
    )
    body = []
    for row in rows:
        tds = "".join(
            f"<td{' class=n' if i in numeric else ''}>{c}</td>" for i, c in enumerate(row)
        )
        body.append(f"<tr>{tds}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(head)}" class="muted">None recorded.</td></tr>')
    return (
        f'<div class="scroll" role="region" aria-label="{escape(caption)}" tabindex="0">'
        f"<table><caption>{escape(caption)}</caption><thead><tr>{th}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _bars(rows: Iterable[tuple[str, Any]]) -> list[Bar]:
    out = []
    for label, value in rows:
        low, high = bounds(value)
        out.append(Bar(label, low, high, _text(value)))
    return out


def _e(value: Any) -> str:
    return escape(str(value))


def _when(iso: str) -> str:
    """``2027-01-01T00:00:00Z`` as ``2027-01-01 00:00:00`` (the page says UTC once)."""
    return _e(iso.replace("T", " ").removesuffix("Z"))


def _ledgers(doc: Json) -> str:
    led = doc["ledgers"]
    rows = []
    for v in led["verified"]:
        cos = "<br>".join(f"{_e(c['name'])} at {_when(c['cosigned_at'])}" for c in v["cosigners"])
        quorum = f"{v['quorum']} of {len(v['witnesses'])}" if v["witnessed"] else "none"
        rows.append(
            [
                _e(v["node"]),
                f"{v['size']:,}",
                quorum,
                cos or '<span class="late">not witnessed</span>',
            ]
        )
    out = [
        "<h2 id=ledgers>Ledgers and witnesses</h2>",
        "<p>Every figure above comes from these ledgers only, each verified in full: the "
        "checkpoint's signature and witness quorum, every entry, the Merkle root, the tiles and "
        "every earlier checkpoint.</p>",
        _table(
            "Latest verified checkpoint of each ledger",
            ["Node", "Entries", "Quorum", "Cosigned by (UTC)"],
            rows,
            numeric=(1,),
        ),
        _table(
            "Root hash (SHA-256) of each latest checkpoint",
            ["Node", "Root"],
            ([_e(v["node"]), f"<code>{_e(v['root'])}</code>"] for v in led["verified"]),
        ),
    ]
    if led["excluded"]:
        out.append(
            _table(
                "Ledgers excluded because they failed verification",
                ["Ledger", "Reason"],
                ([_e(x["label"]), _e(x["reason"])] for x in led["excluded"]),
            )
        )
    return "".join(out)


#: What the page says of an agreement whose signed document was not supplied.
UNKNOWN_VALIDITY = "validity unknown: no signed document supplied"


def _status(a: Json) -> str:
    """One agreement's state in words, with the date that decides it (UTC)."""
    state = a["state"]
    if state == "in_force":
        return f'<span class="ok">in force</span> until {_when(a["valid_until"])}'
    if state == "expired":
        return f'<span class="late">expired</span> {_when(a["valid_until"])}'
    if state == "not_yet_valid":
        return f"not yet valid: from {_when(a['valid_from'])}"
    if state == "revoked":
        return f"revoked {_when(a['revoked'])} ({_e(a['revoked_reason'])})"
    if state == "unsigned":
        return '<span class="late">not in force: not signed by both parties</span>'
    return f'<span class="late">{escape(UNKNOWN_VALIDITY)}</span>'


def _agreements(doc: Json) -> str:
    ag = doc["agreements"]
    rows = [
        [
            _e(a["agreement_id"]),
            " and ".join(_e(p) for p in a["parties"]),
            ", ".join(f"{_e(n)}: {_e(r)}" for n, r in a["roles"].items()),
            f"v{a['version']}",
            _status(a),
        ]
        for a in ag["agreements"]
    ]
    when = ""
    if ag["as_of"]:
        when = f" on {_when(ag['as_of'])} UTC, the time of the latest ledger entry"
    out = [
        "<h2 id=agreements>Agreements</h2>",
        f"<p>{ag['in_force']:,} agreement(s) in force{when}.</p>",
        f"<p>{escape(ag['rule'])}</p>",
    ]
    unknown = ag["by_state"]["unknown"]
    if unknown:
        out.append(
            f"<p><b>The validity of {unknown:,} agreement(s) is unknown:</b> no signed "
            "document that verifies and has the hash their ledgers record was supplied, so "
            "this report cannot tell whether they are still valid and does not count them as "
            "in force.</p>"
        )
    out.append(
        _table(
            "Data-sharing agreements and their parties",
            ["Agreement", "Parties", "Roles", "Version", "Status (UTC)"],
            rows,
        )
    )
    rejected = ag["documents"]["rejected"]
    if rejected:
        out.append(
            _table(
                "Signed agreement files not used because they did not verify",
                ["File", "Reason"],
                ([_e(r["file"]), _e(r["reason"])] for r in rejected),
            )
        )
    return "".join(out)


def _queries(doc: Json) -> str:
    q = doc["queries"]
    return "".join(
        [
            "<h2 id=queries>Queries</h2>",
            f"<p>Queries asked of other agencies' data: <b>{_num(q['total'])}</b>. Each query "
            "is counted once, whichever side's ledger recorded it.</p>",
            "<h3>By purpose</h3>",
            bar_chart(
                "c-purpose",
                "Queries by purpose",
                _bars((r["purpose"], r["queries"]) for r in q["by_purpose"]),
            ),
            "<h3>By requesting agency</h3>",
            bar_chart(
                "c-agency",
                "Queries by requesting agency",
                _bars((r["requester"], r["queries"]) for r in q["by_agency"]),
            ),
            _table(
                "Queries by requesting agency and purpose",
                ["Requesting agency", "Purpose", "Queries"],
                (
                    [_e(r["requester"]), _e(r["purpose"]), _num(r["queries"])]
                    for r in q["by_agency_and_purpose"]
                ),
                numeric=(2,),
            ),
        ]
    )


def _hits(doc: Json) -> str:
    h = doc["hits"]
    rows = [
        [_e(r["requester"]), _num(r["plates"]), _num(r["hits"]), _rate(r["hit_rate_percent"])]
        for r in h["by_agency"]
    ]
    t = h["total"]
    rows.append(
        ["<b>All agencies</b>", _num(t["plates"]), _num(t["hits"]), _rate(t["hit_rate_percent"])]
    )
    return (
        "<h2 id=hits>Hit rates</h2><p>Plates asked in answered queries, and how many of them "
        "matched a read at the agency asked.</p>"
        + _table(
            "Hits per plate asked, by requesting agency",
            ["Requesting agency", "Plates asked", "Hits", "Hit rate"],
            rows,
            numeric=(1, 2, 3),
        )
    )


def _refusals(doc: Json) -> str:
    r = doc["refusals"]
    rows = [(", ".join(x["rule_ids"]), x["refusals"]) for x in r["by_rule"]]
    return "".join(
        [
            "<h2 id=refusals>Refusals</h2>",
            f"<p>Queries an agency's policy refused: <b>{_num(r['total'])}</b>, by the rules "
            "that decided.</p>",
            bar_chart("c-refusals", "Refusals by rule", _bars(rows)),
            _table(
                "Refusals by the rule(s) that decided",
                ["Rule", "Refusals"],
                ([f"<code>{_e(k)}</code>", _num(v)] for k, v in rows),
                numeric=(1,),
            ),
        ]
    )


def _age(seconds: int) -> str:
    if seconds % 86_400 == 0:
        return f"{seconds // 86_400:,} days"
    if seconds % 3600 == 0:
        return f"{seconds // 3600:,} hours"
    return f"{seconds // 60:,} minutes" if seconds % 60 == 0 else f"{seconds:,} seconds"


def _settings_rows(settings: list[Json]) -> list[list[str]]:
    """One row per node: its jurisdiction, when it declared, and every class's age."""
    by_node: dict[str, list[Json]] = {}
    for s in settings:
        by_node.setdefault(s["node"], []).append(s)
    rows = []
    for node, own in by_node.items():
        where = next((s["jurisdiction"] for s in own if s["jurisdiction"]), None)
        latest = max(s["logged"] for s in own)
        ages = "<br>".join(f"{_e(s['data_class'])}: {_age(s['max_age_seconds'])}" for s in own)
        head = f"<b>{_e(node)}</b>" + (f"<br>{_e(where)}" if where else "")
        rows.append([f"{head}<br><span class=muted>declared {_when(latest)}</span>", ages])
    return rows


def _retention(doc: Json) -> str:
    ret = doc["retention"]
    out = [
        "<h2 id=retention>Retention</h2>",
        "<p>Each class of data is deleted a set time after the day it was collected; each "
        "deletion is on the ledger with a commitment to what was deleted. A deletion is on time "
        f"if it was logged by its deadline plus {ret['grace_minutes']} minutes (the node "
        "purges once an hour).</p>",
        _table(
            "Retention settings the nodes declared",
            ["Node", "How long each class of data is kept"],
            _settings_rows(ret["settings"]),
        ),
    ]
    if ret["nodes_without_settings"]:
        names = ", ".join(_e(n) for n in ret["nodes_without_settings"])
        out.append(
            f"<p class=muted>No retention setting is on the ledger of: {names}. Their "
            "deletions are listed without a deadline.</p>"
        )
    out.append(
        _table(
            "Deletions by node and data class",
            ["Node", "Data", "Epochs", "On time", "Late", "No deadline"],
            (
                [
                    _e(s["node"]),
                    _e(s["data_class"]),
                    f"{s['epochs']:,}",
                    f"{s['on_time']:,}",
                    f'<span class="late">{s["late"]:,}</span>' if s["late"] else "0",
                    f"{s['no_deadline']:,}",
                ]
                for s in ret["summary"]
            ),
            numeric=(2, 3, 4, 5),
        )
    )
    rows = []
    for d in ret["deletions"]:
        verdict = {True: '<span class="ok">on time</span>', False: '<span class="late">late</span>'}
        records = ", ".join(f"{_e(k)} {_num(v)}" for k, v in d["records"].items()) or "none"
        rows.append(
            [
                _e(d["node"]),
                _e(d["data_class"]),
                _e(d["epoch_day"] or f"hold {d['epoch']}"),
                _when(d["deleted"]),
                _when(d["deadline"]) if d["deadline"] else "—",
                verdict.get(d["on_time"], f"no deadline: {_e(d['no_deadline'])}"),
                records,
                f"<code>{_e(d['deleted_root'])}</code>",
            ]
        )
    out.append(
        f"<details><summary>Every deletion ({len(rows):,})</summary>"
        + _table(
            "Every logged deletion, with its deadline",
            [
                "Node",
                "Data",
                "Day",
                "Deleted (UTC)",
                "Deadline (UTC)",
                "Verdict",
                "Records",
                "Root",
            ],
            rows,
        )
        + "</details>"
    )
    return "".join(out)


def _summary(doc: Json) -> str:
    ret = doc["retention"]
    late = sum(s["late"] for s in ret["summary"])
    on_time = sum(s["on_time"] for s in ret["summary"])
    cards = [
        ("Agreements in force", f"{doc['agreements']['in_force']:,}"),
        ("Queries", _num(doc["queries"]["total"])),
        ("Hit rate", _rate(doc["hits"]["total"]["hit_rate_percent"])),
        ("Refusals", _num(doc["refusals"]["total"])),
        ("Deletions on time", f"{on_time:,} of {on_time + late:,}" if on_time + late else "—"),
        ("Ledgers verified", f"{len(doc['ledgers']['verified']):,}"),
    ]
    items = "".join(f"<li>{escape(k)}<b>{v}</b></li>" for k, v in cards)
    return f'<ul class="cards" aria-label="Summary">{items}</ul>'


def render(doc: Json) -> str:
    """The page for a published document."""
    period = doc["period"]
    excluded = doc["ledgers"]["excluded"]
    alert = ""
    if excluded:
        names = ", ".join(_e(x["label"]) for x in excluded)
        alert = (
            f'<p class="alert" role="alert"><b>{len(excluded)} ledger(s) failed verification '
            f"and are not counted:</b> {names}. See <a href=#ledgers>Ledgers</a>.</p>"
        )
    span = f"{_when(period['from'])} to {_when(period['to'])}" if period["from"] else "no entries"
    return "".join(
        [
            "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            "<title>Accord transparency report</title>",
            '<link rel="icon" href="data:,">',
            f"<style>{_CSS}</style></head><body>",
            "<header><h1>Transparency report</h1>",
            f"<p class=muted>Licence plate reader data shared through Accord, {span} (UTC). "
            "Computed only from ledgers that verified.</p></header>",
            "<main>",
            alert,
            _summary(doc),
            f"<p class=muted>{escape(doc['suppression']['rule'])}</p>",
            _agreements(doc),
            _queries(doc),
            _hits(doc),
            _refusals(doc),
            _retention(doc),
            _ledgers(doc),
            "</main>",
            f"<footer class=muted>Format {_e(doc['format'])} version {doc['version']}; the "
            "same figures are in report.json.</footer>",
            "</body></html>\n",
        ]
    )
