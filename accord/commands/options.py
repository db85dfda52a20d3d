"""Options shared by the ``accord`` sub-commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

#: The node home every node-side command works on (``--dir``, or ``ACCORD_HOME``).
HomeOption = Annotated[
    Path,
    typer.Option("--dir", "-d", help="The node home directory.", envvar="ACCORD_HOME"),
]
