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

from accord.commands import agreement, audit, demo, hotlist, ledger, node, query
from accord.commands import broker as broker_commands

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
app.add_typer(agreement.app, name="agreement")
app.add_typer(query.app, name="query")
app.add_typer(query.alerts_app, name="alerts")
app.add_typer(hotlist.app, name="hotlist")
app.add_typer(broker_commands.app, name="broker")
app.command(name="demo")(demo.demo)

_err = Console(stderr=True, highlight=False)


def _expected_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean "the user or the world is wrong", not "Accord is broken"."""
    from audit.errors import AuditError
    from crypto.errors import CryptoError
    from node.alpr.errors import AlprError
    from node.errors import NodeError

    found: list[type[BaseException]] = [NodeError, CryptoError, AuditError, AlprError]
    from broker.errors import BrokerError

    found.append(BrokerError)
    try:
        from node.store.errors import StoreError

        found.append(StoreError)
    except ImportError:  # pragma: no cover - the store is part of every install
        pass
    return tuple(found)


def _rpc_error_line(error: BaseException) -> str | None:
    """``error: CODE: message`` for a failed call to the node, else ``None``.

    grpc is looked up, not imported: if no command loaded it, no call can have failed.
    """
    grpc_aio = sys.modules.get("grpc.aio")
    if grpc_aio is None or not isinstance(error, grpc_aio.AioRpcError):
        return None
    return f"error: {error.code().name}: {error.details()}"


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
    except Exception as e:
        line = _rpc_error_line(e)
        if line is None:
            raise
        _err.print(line, markup=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
