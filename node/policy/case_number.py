"""The case-number rule of an agreement, with patterns that cannot blow up.

An agreement may require every query to carry a case number matching a pattern the two
admins agreed on. The pattern arrives in a peer's proposal, so it is untrusted: a general
regular expression such as ``(a+)+$`` takes exponential time to reject a short string.
Patterns are therefore a small subset of Python's syntax with no groups and no
alternation, at most :data:`MAX_UNBOUNDED` unbounded repetitions, and bounded counts:

- literals ``A-Z a-z 0-9 - _ / . : #`` and space, escaped punctuation such as ``\\.``;
- ``.``, ``\\d``, ``\\w``, ``\\s`` and classes like ``[A-Z0-9-]`` or ``[^/]``;
- quantifiers ``? * + {n} {n,} {n,m}`` (``n, m <= 64``) after an atom;
- optional ``^`` and ``$`` anchors; the whole case number must match either way.

With at most three unbounded repetitions over a case number of at most 64 characters, the
backtracking matcher does at most a few hundred thousand steps.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from node.policy.errors import InvalidAgreementError

MAX_CASE_NUMBER = 64
MAX_PATTERN = 128
MAX_UNBOUNDED = 3
MAX_COUNT = 64

_LITERALS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_/:# ")
_ESCAPES = frozenset("dws.-_/:#\\")
_COUNT_RE = re.compile(r"\{(\d{1,2})(,(\d{0,2}))?\}")


def _class_end(pattern: str, start: int) -> int:
    """Index just past the ``]`` closing the class that opens at ``start``."""
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    first = True
    while i < len(pattern):
        ch = pattern[i]
        if ch == "]" and not first:
            return i + 1
        if ch == "\\":
            if i + 1 >= len(pattern) or pattern[i + 1] not in _ESCAPES:
                raise ValueError("unsupported escape in a character class")
            i += 2
        elif ch in _LITERALS or ch == ".":
            i += 1
        else:
            raise ValueError(f"unsupported character {ch!r} in a character class")
        first = False
    raise ValueError("unterminated character class")


@functools.lru_cache(maxsize=256)
def check_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a case-number pattern, refusing anything outside the safe subset."""
    if not pattern or len(pattern) > MAX_PATTERN:
        raise ValueError(f"must be 1 to {MAX_PATTERN} characters")
    body = pattern
    if body.startswith("^"):
        body = body[1:]
    if body.endswith("$") and not body.endswith("\\$"):
        body = body[:-1]
    unbounded = 0
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            if i + 1 >= len(body) or body[i + 1] not in _ESCAPES:
                raise ValueError("only \\d \\w \\s and escaped punctuation are allowed")
            i += 2
        elif ch == "[":
            i = _class_end(body, i)
        elif ch in _LITERALS or ch == ".":
            i += 1
        else:
            raise ValueError(f"unsupported character {ch!r} (no groups or alternation)")
        if i < len(body) and body[i] in "?*+":
            unbounded += body[i] != "?"
            i += 1
        elif i < len(body) and body[i] == "{":
            m = _COUNT_RE.match(body, i)
            if not m:
                raise ValueError("repetition counts are {n}, {n,} or {n,m}")
            low, comma, high = int(m.group(1)), m.group(2), m.group(3)
            if comma and not high:
                unbounded += 1
            elif comma and not low <= int(high) <= MAX_COUNT:
                raise ValueError(f"in {{n,m}}, n <= m <= {MAX_COUNT}")
            if low > MAX_COUNT:
                raise ValueError(f"repetition counts are at most {MAX_COUNT}")
            i = m.end()
        if i < len(body) and body[i] in "?*+{":
            raise ValueError("a quantifier must follow an atom")
    if unbounded > MAX_UNBOUNDED:
        raise ValueError(f"at most {MAX_UNBOUNDED} unbounded repetitions (*, +, {{n,}})")
    try:
        return re.compile(pattern, re.ASCII)
    except re.error as e:
        raise ValueError(f"is not a valid pattern: {e}") from None


@dataclass(frozen=True, slots=True)
class CaseNumberRule:
    """Whether queries need a case number, and the form it must take if one is given."""

    required: bool
    pattern: str | None

    def __post_init__(self) -> None:
        if not isinstance(self.required, bool):
            raise InvalidAgreementError("must be true or false", "required")
        if self.pattern is not None:
            if not isinstance(self.pattern, str):
                raise InvalidAgreementError("must be a string or null", "pattern")
            try:
                check_pattern(self.pattern)
            except ValueError as e:
                raise InvalidAgreementError(str(e), "pattern") from None

    def violation(self, case_number: str) -> str | None:
        """Why ``case_number`` breaks this rule, or ``None`` if it complies.

        An empty string means no case number was given.
        """
        if not case_number:
            return "the agreement requires a case number" if self.required else None
        if len(case_number) > MAX_CASE_NUMBER or not case_number.isascii():
            return f"case numbers are 1 to {MAX_CASE_NUMBER} ASCII characters"
        if self.pattern is not None and not check_pattern(self.pattern).fullmatch(case_number):
            return "the case number does not have the form the agreement requires"
        return None
