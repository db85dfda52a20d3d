"""Builders for recognizer output, so the candidate rules are tested without a model."""

from __future__ import annotations

from collections.abc import Mapping

from node.alpr.recognition import Glyph, LineRead


def line(
    raw: str, prob: float = 0.9, runners_up: Mapping[int, tuple[str, float]] | None = None
) -> LineRead:
    """A LineRead of ``raw``: each character read with ``prob``; ``runners_up[i]`` adds a
    second choice at character ``i``."""
    runners_up = runners_up or {}
    glyphs = []
    for i, char in enumerate(raw):
        choices: list[tuple[str, float]] = []
        if char.upper().isalnum() and char.isascii():
            choices.append((char.upper(), prob))
        if i in runners_up:
            choices.append(runners_up[i])
            choices.sort(key=lambda c: -c[1])
        glyphs.append(Glyph(char, prob, tuple(choices)))
    return LineRead(raw, tuple(glyphs))
