"""The shape the style guide asks for, checked: core without Streamlit, thin pages, no raw HTML from users."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE_FORBIDDEN = {"litellm", "sqlmodel", "sqlalchemy", "cryptography", "httpx", "huggingface_hub"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "core").glob("*.py")), ids=lambda p: p.name)
def test_core_never_imports_streamlit_or_random(path: Path) -> None:
    assert not {"streamlit", "random"} & imported_modules(path)


@pytest.mark.parametrize("path", sorted((ROOT / "pages").glob("*.py")), ids=lambda p: p.name)
def test_pages_stay_thin(path: Path) -> None:
    assert not PAGE_FORBIDDEN & imported_modules(path)


@pytest.mark.parametrize(
    "path", sorted([ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]), ids=lambda p: p.name
)
def test_no_raw_html_from_users_or_models(path: Path) -> None:
    """`unsafe_allow_html` is never used; page scripts (`unsafe_allow_javascript`) only in the cookie helper."""
    text = path.read_text()
    assert "unsafe_allow_html" not in text
    if "unsafe_allow_javascript" in text:
        assert path.name == "signin.py" and text.count("unsafe_allow_javascript") == 1


def test_litellm_is_imported_in_one_place() -> None:
    importers = [p.relative_to(ROOT) for p in ROOT.glob("[!.]*/*.py") if "litellm" in imported_modules(p)]
    importers = [p for p in importers if p.parts[0] not in {"tests", "bench"}]
    assert importers == [Path("core/llm.py")]
