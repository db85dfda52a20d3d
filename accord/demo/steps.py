"""The demo's step log: each step's outcome, for the narration, the summary and the exit code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from rich.console import Console


@dataclass
class StepLog:
    """What the demo did, for the closing summary and the exit code."""

    console: Console
    steps: list[tuple[str, bool, str]] = field(default_factory=list)

    async def run(self, title: str, action: Callable[[], Awaitable[str]]) -> bool:
        try:
            detail = await action()
        except Exception as e:  # the demo reports every failure and carries on
            self.steps.append((title, False, f"{type(e).__name__}: {e}"))
            self.console.print(f"[red]✗[/] {title}: {e}")
            return False
        self.steps.append((title, True, detail))
        self.console.print(f"[green]✓[/] {title}: {detail}")
        return True

    @property
    def failed(self) -> int:
        return sum(1 for _, ok, _ in self.steps if not ok)
