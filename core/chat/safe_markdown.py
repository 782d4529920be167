"""Model output as Markdown that is safe to render: only http(s) and mailto links stay links.

A reply is untrusted text. Streamlit renders Markdown links, images, autolinks and reference links; a
`javascript:`, `data:`, `vbscript:`, `file:` or relative target in any of them becomes plain text here, and a link
whose text is itself a URL other than its target shows the real target beside it. Code (fenced, indented, inline)
is left exactly as written: nothing in it is a link. Raw HTML is never rendered (Streamlit escapes it).

Where this scanner and the renderer could read a bracket differently, the bracket is escaped: a `]` that is not
the end of a link this module checked never reaches the renderer directly followed by `(`, `[` or a definition's
`:` with an unsafe target.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from core.chat.markdown_blocks import blocks

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
MAX_DESTINATION = 4096  # characters; a longer destination is not read as one (its bracket is escaped)
MAX_TAG = 1024  # characters; a longer raw HTML tag or comment is not read as one (its `<` is escaped)
MAX_NESTING = 8  # links in links' text

FOOTNOTE = re.compile(r"(?:^|\n)[ \t]*\[\^[^\]\n]*$")  # the line so far opens a footnote's label
# A line that opens a raw HTML block (after any list or quote markers): inside one, a fence opens no code.
HTML_BLOCK = re.compile(r"^[ \t]*(?:(?:[-*+]|\d{1,9}[.)]|>)[ \t]*)*<[A-Za-z/!?]", re.M)
# Inline raw HTML as CommonMark reads it: an open or closing tag, a comment, a processing instruction, a declaration.
INLINE_HTML = re.compile(
    r"""<[A-Za-z][A-Za-z0-9-]*(?:\s+[A-Za-z_:][\w.:-]*(?:\s*=\s*(?:[^\s"'=<>`]+|'[^']*'|"[^"]*"))?)*\s*/?>"""
    r"|</[A-Za-z][A-Za-z0-9-]*\s*>|<!--.*?-->|<\?.*?\?>|<![A-Za-z][^>]*>|<!\[CDATA\[.*?\]\]>",
    re.S,
)
HTML_START = re.compile(r"<[A-Za-z/!?]")
BLANK_LINE = re.compile(r"\n[ \t]*\n")
SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.\-]{1,31}):[^\s<>]*>")
EMAIL_AUTOLINK = re.compile(r"<[A-Za-z0-9.!#$%&'*+/=?^_`{|}~\-]+@[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?>")
DEFINITION = re.compile(
    r"^[ \t>]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)?\[((?:[^\[\]\\]|\\.){1,999})\]:[ \t]*\n?[ \t>]*(<[^>\n]*>|\S+)", re.M
)
URL_TEXT = re.compile(r"^(?:[a-z][a-z0-9+.\-]*:\S+|www\.\S+|[\w\-]+(?:\.[\w\-]+)*\.[a-z]{2,}(?:[/?#]\S*)?)$", re.I)
# An inline link's `(destination "title")`, as CommonMark reads it (one level of parentheses in a destination).
INLINE_TARGET = re.compile(
    r"""\([ \t]*\n?[ \t]*(?:<(?:[^<>\n\\]|\\.)*>|(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))*)"""
    r"""(?:[ \t]*\n?[ \t]*(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\((?:[^()\\]|\\.)*\)))?[ \t]*\n?[ \t]*\)"""
)
ESCAPABLE = re.compile(r"\\([!-/:-@\[-`{-~])")
INVISIBLE = re.compile(r"[\t\n\r]")  # browsers drop these anywhere in a URL ("java\tscript:")


def safe_markdown(text: str) -> str:
    """`text` with every link, image and autolink whose target is not http(s) or mailto made plain text."""
    definitions = _definitions(text)
    parts = list(blocks(text))
    if any(HTML_BLOCK.search(part) for code, part in parts if not code):
        # A raw HTML block could hide a fence from the renderer (which would then show as prose what this module
        # took for code): all is checked as prose, at worst a code block's brackets shown escaped.
        return _inline(text, definitions)
    return "".join(part if code else _inline(part, definitions) for code, part in parts)


def is_safe_target(destination: str) -> bool:
    """Whether a link target (as written in Markdown: escapes and entities not yet decoded) is http(s) or mailto."""
    found = SCHEME.match(_decoded(destination).lower())
    return found is not None and found.group(1) in SAFE_SCHEMES


def _decoded(destination: str) -> str:
    """The URL a browser would follow: `<...>` unwrapped, escapes and entities decoded, tabs and newlines dropped,
    leading spaces and control characters stripped."""
    value = destination.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    value = html.unescape(ESCAPABLE.sub(r"\1", value))
    return INVISIBLE.sub("", value).lstrip("".join(chr(code) for code in range(33)))


def _definitions(text: str) -> dict[str, str]:
    """Reference definitions with a safe target (label, normalized as CommonMark matches them -> target)."""
    prose = "".join(part for code, part in blocks(text) if not code)
    return {
        _label(found.group(1)): found.group(2) for found in DEFINITION.finditer(prose) if is_safe_target(found.group(2))
    }


def _label(label: str) -> str:
    return " ".join(label.split()).casefold()


def _code_span_end(text: str, start: int) -> int:
    """The end of the code span opening at `start` (a run of backticks), or the end of that run when the span does
    not close on the same line (read as prose then: a span the renderer closes on a later line only ever has more
    of its text checked, never less)."""
    run = start
    while run < len(text) and text[run] == "`":
        run += 1
    line_end = text.find("\n", run)
    ticks = run - start
    found = re.compile(rf"(?<!`)`{{{ticks}}}(?!`)").search(text, run, len(text) if line_end < 0 else line_end)
    return found.end() if found else run


def _raw_html(text: str, start: int) -> int | None:
    """The end of the inline raw HTML (a tag, a comment...) that opens at `start`, if one does."""
    found = INLINE_HTML.match(text, start, min(len(text), start + MAX_TAG))
    return found.end() if found and not BLANK_LINE.search(found.group(0)) else None


def _bracket_pairs(text: str, html_ends: dict[int, int]) -> dict[int, int]:
    """Each `[` with its matching `]` within a paragraph, skipping escapes, code spans and raw HTML (one pass; the
    raw HTML found is noted in `html_ends`, start -> end)."""
    pairs: dict[int, int] = {}
    open_at: list[int] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "`":
            index = _code_span_end(text, index)
            continue
        if char == "<" and (tag := _raw_html(text, index)) is not None:
            html_ends[index] = index = tag
            continue
        if char == "[":
            open_at.append(index)
        elif char == "]" and open_at:
            pairs[open_at.pop()] = index
        elif char == "\n" and text.startswith("\n", index + 1):
            open_at.clear()  # a blank line ends the paragraph, and any link in it
        index += 1
    return pairs


@dataclass(frozen=True)
class _Link:
    text: str  # what is between the brackets
    destination: str  # as written
    source: str  # what follows the closing bracket, as written ("(dest 'title')", "[ref]", "")
    end: int


def _destination_end(text: str, start: int) -> int | None:
    """Where the `(destination "title")` opening at `start` ends (after its `)`); None if it is not one."""
    found = INLINE_TARGET.match(text, start, min(len(text), start + MAX_DESTINATION))
    return found.end() if found else None


def _inline_destination(inside: str) -> str:
    """The destination of `(destination "title")`'s inside."""
    inside = inside.strip()
    if inside.startswith("<"):
        return inside[: inside.find(">") + 1] if ">" in inside else inside
    return inside.split(None, 1)[0] if inside else ""


class _Prose:
    """One prose part being checked: its bracket pairs found once, the reference definitions, the nesting depth."""

    def __init__(self, text: str, definitions: dict[str, str], depth: int = 0) -> None:
        self.text, self.definitions, self.depth = text, definitions, depth
        self.html_ends: dict[int, int] = {}
        self.pairs = _bracket_pairs(text, self.html_ends)

    def link_at(self, start: int) -> _Link | None:
        """The inline or reference link (or image) whose `[` is at `start`, if it is one the renderer would draw."""
        text, close = self.text, self.pairs.get(start)
        if close is None:
            return None
        label, after = text[start + 1 : close], close + 1
        if text.startswith("(", after) and (end := _destination_end(text, after)) is not None:
            return _Link(label, _inline_destination(text[after + 1 : end - 1]), text[after:end], end)
        if text.startswith("[", after) and (ref_close := self.pairs.get(after)) is not None:
            reference = text[after + 1 : ref_close] or label
            if (target := self.definitions.get(_label(reference))) is not None:
                return _Link(label, target, text[after : ref_close + 1], ref_close + 1)
            return None
        if (target := self.definitions.get(_label(label))) is not None:
            return _Link(label, target, "", after)
        return None

    def inner(self, text: str) -> str:
        """A link's text, checked in turn; past `MAX_NESTING` levels every bracket in it is escaped."""
        if self.depth >= MAX_NESTING:
            return re.sub(r"([\[\]<])", r"\\\1", text)
        return _inline(text, self.definitions, self.depth + 1)

    def render(self, link: _Link, image: bool) -> str:
        if not is_safe_target(link.destination):
            # Plain text: the brackets kept, escaped, so nothing around them can make a link of them again.
            return ("!" if image else "") + "\\[" + self.inner(link.text) + "\\]"
        rendered = ("![" if image else "[") + self.inner(link.text) + "]" + link.source
        if not image and _shows_another_url(link.text, link.destination):
            rendered += " (" + _code(_decoded(link.destination)) + ")"
        return rendered

    def stray_bracket(self, index: int) -> bool:
        """A `]` that closes no link this module checked, yet the renderer could read as one's end: followed by
        `(`, `[`, or `:` and an unsafe definition target (a footnote's `[^label]:` defines no link)."""
        text = self.text
        if text.startswith(("(", "["), index + 1):
            return True
        if not text.startswith(":", index + 1) or FOOTNOTE.search(text, 0, index):
            return False
        ahead = re.match(r"[ \t]*\n?[ \t>]*(<[^>\n]*>|\S+)", text[index + 2 : index + 2 + MAX_DESTINATION])
        return ahead is None or not is_safe_target(ahead.group(1))


def _code(text: str) -> str:
    """`text` as an inline code span (which nothing inside can end)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}"


def _comparable(url: str) -> str:
    url = url.strip().lower()
    url = re.sub(r"^(?:https?://|mailto:)", "", url).removeprefix("www.")
    return url.rstrip("/")


def _shows_another_url(text: str, destination: str) -> bool:
    """The link's visible text reads as a URL that is not where the link goes."""
    shown = text.strip().strip("*_`~ ").strip()
    if not URL_TEXT.match(shown):
        return False
    return _comparable(html.unescape(shown)) != _comparable(_decoded(destination))


def _inline(text: str, definitions: dict[str, str], depth: int = 0) -> str:
    """Prose with its links checked; code spans and escapes copied as written."""
    prose = _Prose(text, definitions, depth)
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            out.append(text[index : index + 2])
            index += 2
        elif char == "`":
            end = _code_span_end(text, index)
            out.append(text[index:end])
            index = end
        elif char == "<" and (found := AUTOLINK.match(text, index) or EMAIL_AUTOLINK.match(text, index)):
            safe = found.re is EMAIL_AUTOLINK or found.group(1).lower() in SAFE_SCHEMES
            out.append(found.group(0) if safe else "\\" + found.group(0))
            index = found.end()
        elif char == "<" and (tag := prose.html_ends.get(index) or _raw_html(text, index)) is not None:
            out.append(text[index:tag])  # raw HTML, shown as text: what is inside it is neither code nor a link
            index = tag
        elif HTML_START.match(text, index):
            out.append("\\<")  # what this module does not read as raw HTML, the renderer must not either
            index += 1
        elif (image := text.startswith("![", index)) or char == "[":
            bracket = index + 1 if image else index
            if (link := prose.link_at(bracket)) is not None:
                out.append(prose.render(link, image))
                index = link.end
            else:
                out.append(text[index : bracket + 1])
                index = bracket + 1
        elif char == "]" and prose.stray_bracket(index):
            out.append("\\]")
            index += 1
        else:
            out.append(char)
            index += 1
    return "".join(out)
