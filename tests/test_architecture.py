"""The shape the style guide asks for, checked: core without Streamlit, thin pages, no raw HTML from users."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE_FORBIDDEN = {"litellm", "sqlmodel", "sqlalchemy", "cryptography", "httpx", "huggingface_hub"}
CORE_FILES = sorted((ROOT / "core").rglob("*.py"))
PAGE_FILES = sorted((ROOT / "pages").rglob("*.py"))
APP_FILES = sorted([ROOT / "app.py", ROOT / "asgi.py", *CORE_FILES, *PAGE_FILES, *(ROOT / "ui").rglob("*.py")])
# The page asks the server for its sign-in cookie with a script built from json.dumps of values the app made.
SCRIPT_SITE = ROOT / "ui" / "signin.py"


def ids(path: Path) -> str:
    return str(path.relative_to(ROOT))


def imported_modules(path: Path) -> set[str]:
    """Every absolute import of a file, by its top-level package (`import a.b` and `from a.b import c` give `a`)."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def calls(path: Path) -> Iterator[ast.Call]:
    yield from (node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call))


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def content_of(call: ast.Call) -> ast.expr | None:
    """What a Streamlit call renders: its first argument, or `body=`."""
    return call.args[0] if call.args else keyword(call, "body")


def is_literal_text(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def enables(node: ast.expr | None) -> bool:
    """True unless the flag is absent or literally False."""
    return node is not None and not (isinstance(node, ast.Constant) and node.value is False)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import random", {"random"}),
        ("import random as r", {"random"}),
        ("from random import choice", {"random"}),
        ("import streamlit.components.v1 as c", {"streamlit"}),
        ("from streamlit.runtime import x", {"streamlit"}),
        ("from . import random", set()),
        ("def f():\n    import litellm", {"litellm"}),
    ],
)
def test_imported_modules_sees_every_import_form(tmp_path: Path, source: str, expected: set[str]) -> None:
    path = tmp_path / "sample.py"
    path.write_text(source)
    assert imported_modules(path) == expected


@pytest.mark.parametrize("path", CORE_FILES, ids=ids)
def test_core_never_imports_streamlit(path: Path) -> None:
    assert "streamlit" not in imported_modules(path)


@pytest.mark.parametrize("path", APP_FILES, ids=ids)
def test_secrets_come_from_secrets_never_random(path: Path) -> None:
    """`random` is predictable; tokens, keys and nonces come from `secrets` or `os.urandom`."""
    assert "random" not in imported_modules(path)


@pytest.mark.parametrize("path", PAGE_FILES, ids=ids)
def test_pages_stay_thin(path: Path) -> None:
    assert not PAGE_FORBIDDEN & imported_modules(path)


def raw_html_findings(path: Path) -> list[str]:
    """Calls that would render non-literal text as HTML, and any `unsafe_allow_html` not passed as a keyword."""
    findings = []
    flagged = 0
    for call in calls(path):
        flag = keyword(call, "unsafe_allow_html")
        flagged += any(k.arg == "unsafe_allow_html" for k in call.keywords)
        if enables(flag) and not is_literal_text(content_of(call)):
            findings.append(f"line {call.lineno}: unsafe_allow_html with non-literal content")
        is_html = isinstance(call.func, ast.Attribute) and call.func.attr == "html"
        if is_html and not is_literal_text(content_of(call)) and path != SCRIPT_SITE:
            findings.append(f"line {call.lineno}: .html() with non-literal content")
    if path.read_text().count("unsafe_allow_html") != flagged:
        findings.append("unsafe_allow_html appears other than as a call keyword (e.g. in **kwargs)")
    return findings


@pytest.mark.parametrize("path", APP_FILES, ids=ids)
def test_no_raw_html_from_users_or_models(path: Path) -> None:
    """HTML is rendered only from string literals in the code, never from text a user or model wrote."""
    assert raw_html_findings(path) == []


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("st.markdown('<b>fixed</b>', unsafe_allow_html=True)", False),
        ("st.markdown(text)", False),
        ("st.markdown(text, unsafe_allow_html=False)", False),
        ("st.markdown(text, unsafe_allow_html=True)", True),
        ("st.markdown(body=text, unsafe_allow_html=True)", True),
        ("st.markdown(f'<b>{name}</b>', unsafe_allow_html=True)", True),
        ("st.markdown('<b>' + name, unsafe_allow_html=True)", True),
        ("st.write(reply, unsafe_allow_html=allow)", True),
        ("st.markdown(text, **{'unsafe_allow_html': True})", True),
        ("st.html(reply)", True),
        ("st.html('<hr>')", False),
    ],
)
def test_raw_html_check_catches_each_form(tmp_path: Path, source: str, flagged: bool) -> None:
    path = tmp_path / "page.py"
    path.write_text(source)
    assert bool(raw_html_findings(path)) is flagged


def test_page_scripts_only_in_the_cookie_helper() -> None:
    """`unsafe_allow_javascript` runs a script in the page: allowed once, where the sign-in cookie is set."""
    uses = [
        (ids(path), call.lineno)
        for path in APP_FILES
        for call in calls(path)
        if any(k.arg == "unsafe_allow_javascript" for k in call.keywords)
    ]
    assert [path for path, _ in uses] == [ids(SCRIPT_SITE)]
    assert sum(path.read_text().count("unsafe_allow_javascript") for path in APP_FILES) == 1


def test_litellm_is_imported_in_one_place() -> None:
    importers = [p.relative_to(ROOT) for p in ROOT.glob("[!.]*/**/*.py") if "litellm" in imported_modules(p)]
    importers = [p for p in importers if p.parts[0] not in {"tests", "bench", ".venv"}]
    assert importers == [Path("core/providers/client.py")]


def test_tracebacks_never_reach_the_browser() -> None:
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"


def test_remote_code_is_never_trusted() -> None:
    """Hugging Face downloads must never run a repository's code: no `trust_remote_code=True` anywhere."""
    for path in APP_FILES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "trust_remote_code":
                assert isinstance(node.value, ast.Constant) and node.value.value is False, path
