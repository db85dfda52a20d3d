"""Logging for a node: every line carries the request id of the call it belongs to.

Plates never appear in log lines: code logs counts, ids and commitments. The filter below
only adds context; it cannot scrub what a careless caller passes in, so the rule is kept
by review and by the privacy tests.
"""

from __future__ import annotations

import logging

from node.rpc.context import request_id_var

LOG_FORMAT = "%(asctime)s %(levelname)s [req=%(request_id)s] %(name)s: %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` from the current call's context."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """Send node logs to stderr, each line tagged with its request id."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
