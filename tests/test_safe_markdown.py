"""Model output rendered as Markdown: only http(s) and mailto links stay links; code is left as written."""

from __future__ import annotations

import re
import time

import pytest

from core.chat.safe_markdown import is_safe_target, safe_markdown

UNCHANGED = [
    "Plain text with *emphasis* and a list:\n\n- one\n- two\n",
    "[docs](https://docs.python.org/3/)",
    "[write](mailto:someone@example.com)",
    "[a](http://example.com/a_(b) 'title')",
    "<https://example.com/x>",
    "<someone@example.com>",
    "See https://example.com and www.example.com.",
    "![chart](https://example.com/chart.png)",
    "[x][1]\n\n[1]: https://example.com",
    "[example.com](https://example.com/)",
    "[https://example.com](https://example.com)",
    "`[a](javascript:alert(1))`",
    "``code with ` inside [a](data:x)``",
    "```js\n[a](javascript:alert(1))\n<script>x</script>\n```\n",
    "~~~\n[a](javascript:alert(1))\n~~~\n",
    "Text\n\n    [a](javascript:alert(1))\n    <b>indented code</b>\n",
    "```\nunclosed fence keeps the rest as code\n[a](javascript:x)",
    "a < b and 3 > 2",
    "<div>raw</div> and <img src=x onerror=alert(1)>",  # Streamlit shows raw HTML as text
    '<a href="javascript:alert(1)">x</a>',
    "Heading\n=======\n\n# Title\n",
]


@pytest.mark.parametrize("text", UNCHANGED)
def test_safe_markdown_and_code_are_left_as_written(text: str) -> None:
    assert safe_markdown(text) == text


UNSAFE = [
    ("[click](javascript:alert(1))", "\\[click\\]"),
    ("[click](data:text/html,<script>alert(1)</script>)", "\\[click\\]"),
    ("[click](vbscript:msgbox(1))", "\\[click\\]"),
    ("[click](file:///etc/passwd)", "\\[click\\]"),
    ("[click](relative/path)", "\\[click\\]"),
    ("[click](#top)", "\\[click\\]"),
    ("[click](//evil.example)", "\\[click\\]"),
    ("[click](JaVaScRiPt:alert(1))", "\\[click\\]"),
    ("[click](&#106;avascript:alert(1))", "\\[click\\]"),  # entities are decoded in a destination
    ("[click](javascript&colon;alert(1))", "\\[click\\]"),
    ("[click](<java\tscript:alert(1)>)", "\\[click\\]"),  # browsers drop tabs in a URL
    ("[click](java\tscript:alert(1))", "[click\\](java\tscript:alert(1))"),  # no link (a space): `]` escaped
    ("[click](javascript\\:alert(1))", "\\[click\\]"),  # an escaped colon is a colon
    ("[click](<javascript:alert(1)>)", "\\[click\\]"),
    ('[click]( javascript:alert(1) "title")', "\\[click\\]"),
    ("![pic](javascript:alert(1))", "!\\[pic\\]"),
    ("![pic](data:image/svg+xml,%3Csvg%20onload=alert(1)%3E)", "!\\[pic\\]"),
    ("[a [nested] text](javascript:x)", "\\[a [nested] text\\]"),
    ("[![img](javascript:x)](https://ok.example)", "[!\\[img\\]](https://ok.example)"),
    ("[outer](javascript:x)(javascript:y)", "\\[outer\\](javascript:y)"),
    ("[[a]](javascript:x)(javascript:y)", "\\[[a]\\](javascript:y)"),
    ("<data:text/html,hi>", "\\<data:text/html,hi>"),
    ("<javascript:alert(1)>", "\\<javascript:alert(1)>"),
]


@pytest.mark.parametrize(("text", "expected"), UNSAFE)
def test_links_with_another_scheme_become_plain_text(text: str, expected: str) -> None:
    assert safe_markdown(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "[x][1]\n\n[1]: javascript:alert(1)",
        "[x][]\n\n[x]: javascript:alert(1)",
        "[x]\n\n[x]: <javascript:alert(1)>",
        "[x][1]\n\n[1]:\n  data:text/html,hi",
        "[y][1]\n\n> [1]: javascript:alert(1)",
        "[x][Label]\n\n[  label ]: vbscript:x 'title'",
    ],
)
def test_reference_links_to_another_scheme_lose_their_definition(text: str) -> None:
    out = safe_markdown(text)
    assert not re.search(r"(?<!\\)\][:(\[]", out)  # no definition, and no reference to one, left for the renderer


def test_a_link_whose_text_is_another_url_shows_its_real_target() -> None:
    assert safe_markdown("[https://bank.example](https://evil.example/login)") == (
        "[https://bank.example](https://evil.example/login) (` https://evil.example/login `)"
    )
    assert safe_markdown("[**www.bank.example**](https://evil.example)").endswith("(` https://evil.example `)")
    assert safe_markdown("[x][r]\n\n[r]: https://evil.example").startswith("[x][r]")
    assert "(` https://evil.example `)" in safe_markdown("[bank.example][r]\n\n[r]: https://evil.example")


def test_code_spans_only_hide_what_the_renderer_reads_as_code() -> None:
    # A span closes on its own line only here: one the renderer does not close must not hide a link.
    assert safe_markdown("`open\n\n[a](javascript:x) `") == "`open\n\n\\[a\\] `"
    # A backtick fence's info string holds no backtick: this line opens no code block.
    assert "javascript" not in safe_markdown("```a`b\n[a](javascript:x)\n```").replace("```a`b\n\\[a\\]\n```", "")
    # An indented line in a list item (or a footnote) is its text, not code.
    assert safe_markdown("- item\n\n    [a](javascript:x)") == "- item\n\n    \\[a\\]"
    assert safe_markdown("[^1]: note\n\n    [a](javascript:x)") == "[^1]: note\n\n    \\[a\\]"


@pytest.mark.parametrize(
    "text",
    [
        "<!--\n```\n-->\n[a](javascript:alert(1))\n```\n",  # the fence is inside a comment: no code block
        "- <pre>\n  ```\n  </pre>\n  [a](javascript:alert(1))\n  ```",
        '<span title="`">[a](javascript:alert(1))<i title="`">',  # the backticks are raw HTML: no code span
        '<span\ntitle="`">[a](javascript:alert(1))<i title="`">',
    ],
)
def test_raw_html_cannot_hide_a_link(text: str) -> None:
    assert "\\[a\\]" in safe_markdown(text)


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("https://x.example", True),
        ("HTTP://x.example", True),
        ("mailto:a@b.example", True),
        ("  https://x.example", True),
        ("\x01javascript:x", False),
        ("javascript:x", False),
        ("tel:123", False),
        ("ftp://x.example", False),
        ("x.example", False),
        ("", False),
    ],
)
def test_safe_targets(target: str, safe: bool) -> None:
    assert is_safe_target(target) is safe


@pytest.mark.parametrize(
    ("unit", "times", "tail"),
    [
        ("[", 50_000, ""),
        ("[a](", 20_000, ""),
        ("<!--", 20_000, ""),
        ('<a b="', 20_000, ""),
        ("<?", 20_000, ""),
        ("`", 30_000, "x"),
        ("[]", 3000, "(x)"),  # as "[" * n + "]" * n + "(x)"
    ],
)
def test_adversarial_input_is_checked_in_linear_time(unit: str, times: int, tail: str) -> None:
    """Four times the input costs about four times the CPU (a quadratic check would cost sixteen): this thread's CPU
    time, the least of three tries, so neither the machine's load nor its speed decides."""

    def text(n: int) -> str:
        return unit[0] * n + unit[1] * n + tail if unit == "[]" else unit * n + tail

    def cpu(n: int) -> float:
        sample = text(n)
        tries = []
        for _ in range(3):
            started = time.thread_time()
            safe_markdown(sample)
            tries.append(time.thread_time() - started)
        return max(min(tries), 1e-4)

    assert cpu(times) / cpu(times // 4) < 8
