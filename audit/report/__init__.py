"""The public transparency report: figures from verified ledgers, small counts suppressed.

Use::

    from audit.ledger_set import discover, load_ledgers
    from audit.report import build_report, write_report

    # exports/<node>/{ledger/, ledger.vkey, audit-policy.toml, agreements/*.json}
    doc = build_report(load_ledgers(discover([Path("exports")])))
    write_report(doc, Path("report"))  # report/index.html and report/report.json

:mod:`~audit.report.figures` computes exact figures, :mod:`~audit.report.publish`
suppresses and derives what is published (the JSON document),
:mod:`~audit.report.html` renders the page from that document alone.
"""

from __future__ import annotations

from audit.documents import DocumentSet, read_documents
from audit.ledger_set import LedgerSet
from audit.report.figures import compute
from audit.report.publish import FORMAT, VERSION, Json, publish_figures
from audit.report.write import HTML_FILE, JSON_FILE, write_report


def build_report(ledgers: LedgerSet, documents: DocumentSet | None = None) -> Json:
    """The published document for ``ledgers`` (only its verified ledgers are counted).

    The agreements' signed documents are ``documents`` if given, else those in the
    ``agreements/`` directories found with the ledgers (:attr:`LedgerSet.agreement_dirs`);
    a file there that cannot be read at all raises
    :class:`~audit.errors.DocumentSourceError`.
    """
    if documents is None:
        documents = read_documents(ledgers.agreement_dirs)
    return publish_figures(compute(ledgers, documents))


__all__ = ["FORMAT", "HTML_FILE", "JSON_FILE", "VERSION", "build_report", "write_report"]
