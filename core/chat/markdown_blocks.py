"""Which lines of a Markdown text are code (fenced or indented code blocks) and which are prose, read as
CommonMark does; where a reading could differ from the renderer's, it errs towards prose."""

from __future__ import annotations

import re
from collections.abc import Iterator

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
INDENTED = re.compile(r"^(?: {4}|\t)")
# A list item or a footnote definition: an indented line after a blank one continues it (it is not code).
CONTAINER = re.compile(r"^\s*(?:(?:[-*+]|\d{1,9}[.)])(?:\s|$)|\[\^[^\]]*\]:)")


def _opens_fence(line: str) -> str | None:
    """The fence a line opens a fenced code block with (a backtick fence's info string holds no backtick)."""
    opened = FENCE.match(line)
    if opened is None or (opened.group(1)[0] == "`" and "`" in line[opened.end() :]):
        return None
    return opened.group(1)


def blocks(text: str) -> Iterator[tuple[bool, str]]:
    """(is code, lines) in order: fenced and indented code blocks are code; the rest is prose.

    Where this could differ from the renderer, it errs towards prose (more checked, at worst a code block's
    brackets shown escaped); a text with a raw HTML block is all prose (see `safe_markdown`).
    """
    fence: str | None = None
    prose: list[str] = []
    previous_blank, in_container = True, False
    for line in text.splitlines(keepends=True):
        if fence is not None:
            yield True, line
            stripped = line.strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = None
            continue
        if (opened := _opens_fence(line)) is not None:
            yield False, "".join(prose)
            prose, fence = [], opened
            yield True, line
            continue
        blank = not line.strip()
        if not blank and INDENTED.match(line) and previous_blank and not in_container:
            yield False, "".join(prose)
            prose = []
            yield True, line  # the next line is code too while it stays indented (previous_blank kept)
            continue
        if not blank:
            starts = bool(CONTAINER.match(line))
            in_container = starts or (in_container and (line[:1].isspace() or not previous_blank))
        previous_blank = blank
        prose.append(line)
    yield False, "".join(prose)
