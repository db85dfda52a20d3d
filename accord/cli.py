"""The one ``accord`` command: mounts the node, broker, audit and demo sub-commands.

The CLI is thin: it parses, calls the library, prints with rich, and turns any expected
error into one readable line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import os
import sys

# OpenCV and its FFmpeg would print their own warnings (a missing moov atom, a failed
# open) to stderr beside ours; the ingest errors already say what went wrong, once.
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import typer
from rich.console import Console

from accord.commands import audit, demo, ledger, node

app = typer.Typer(
    name="accord",
    help="Accord: federated, privacy-preserving plate-reader data exchange between agencies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(node.app, name="node")
app.add_typer(ledger.app, name="ledger")
app.add_typer(audit.app, name="audit")
app.command(name="demo")(demo.demo)

_err = Console(stderr=True, highlight=False)


def _expected_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean "the user or the world is wrong", not "Accord is broken"."""
    from audit.errors import AuditError
    from crypto.errors import CryptoError
    from node.alpr.errors import AlprError
    from node.errors import NodeError

    found: list[type[BaseException]] = [NodeError, CryptoError, AuditError, AlprError]
    try:
        from node.store.errors import StoreError

        found.append(StoreError)
    except ImportError:  # pragma: no cover - the store is part of every install
        pass
    return tuple(found)


def main() -> None:
    """Entry point of the ``accord`` console script."""
    expected = _expected_errors()
    try:
        app()  # typer handles --help, usage errors and exit codes itself
    except KeyboardInterrupt:
        _err.print("interrupted")
        sys.exit(130)
    except expected as e:
        _err.print(f"error: {e}", markup=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
