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
API_FILES = sorted((ROOT / "api").rglob("*.py"))
APP_FILES = sorted(
    [ROOT / "app.py", ROOT / "asgi.py", *CORE_FILES, *PAGE_FILES, *(ROOT / "ui").rglob("*.py"), *API_FILES]
)
# The page asks the server for its sign-in cookie with a script built from json.dumps of values the app made.
SCRIPT_SITE = ROOT / "ui" / "signin.py"
# A reply's Copy button: a literal script given the reply only as base64, which cannot be read as markup or code.
COPY_SITE = ROOT / "ui" / "chat" / "actions.py"
SCRIPT_SITES = (COPY_SITE, SCRIPT_SITE)


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
        if is_html and not is_literal_text(content_of(call)) and path not in SCRIPT_SITES:
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
    """`unsafe_allow_javascript` runs a script in the page: allowed where the sign-in cookie is set and in a
    reply's Copy button, once each."""
    uses = [
        (ids(path), call.lineno)
        for path in APP_FILES
        for call in calls(path)
        if any(k.arg == "unsafe_allow_javascript" for k in call.keywords)
    ]
    assert [path for path, _ in uses] == [ids(site) for site in SCRIPT_SITES]
    assert sum(path.read_text().count("unsafe_allow_javascript") for path in APP_FILES) == len(SCRIPT_SITES)


def test_litellm_is_imported_in_one_place() -> None:
    importers = [p.relative_to(ROOT) for p in ROOT.glob("[!.]*/**/*.py") if "litellm" in imported_modules(p)]
    importers = [p for p in importers if p.parts[0] not in {"tests", "bench", ".venv"}]
    assert sorted(importers) == [Path("core/local/provider.py"), Path("core/providers/client.py")]


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


# The layers of ../shared/layout.md: a core package imports only from lower layers (also under TYPE_CHECKING and
# inside functions); services and cli wire everything and nothing in core imports them.
LAYERS = {
    "errors": 0,
    "config": 0,
    "paths": 0,
    "text": 0,
    "db": 1,
    "security": 1,
    "accounts": 2,
    "providers": 2,
    "credentials": 3,
    "local": 4,
    "models": 5,
    "chat": 6,
    "services": 7,
    "cli": 7,
    "admin": 8,  # the CLI's earlier name, only running it
}
# Where each library may be imported (path prefixes relative to the project); tests and bench may use any.
LIBRARY_HOMES = {
    "streamlit": ("app.py", "asgi.py", "pages/", "ui/"),
    "starlette": ("ui/web.py", "api/"),
    "fastapi": ("api/",),
    "litellm": ("core/providers/client.py", "core/local/provider.py"),
    "huggingface_hub": ("core/providers/hub.py", "core/local/download"),
    "httpx2": ("core/providers/hub.py",),
    "torch": ("core/local/runtime",),
    "transformers": ("core/local/runtime",),
    "llama_cpp": ("core/local/runtime",),
    "sqlalchemy": (
        "core/db/",
        "core/accounts/users.py",
        "core/accounts/sessions.py",
        "core/accounts/throttle.py",
        "core/accounts/tokens.py",
        "core/credentials/store.py",
        "core/credentials/rotation.py",
        "core/models/listings.py",
        "core/models/deployments.py",
        "core/chat/conversations.py",
        "core/chat/listing.py",
        "core/chat/versions.py",
        "core/chat/attachment_store.py",
        "core/chat/paging.py",
        "core/chat/defaults.py",
        "core/local/library.py",
        "core/local/access.py",
    ),
    "bcrypt": ("core/accounts/users.py",),
    "pypdf": ("core/chat/attachment_reading.py",),
    "cryptography": ("core/security/crypto.py",),
}
LIBRARY_HOMES["sqlmodel"] = LIBRARY_HOMES["sqlalchemy"]
MAX_PAGE_LINES = 150
MAX_CORE_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60
MAX_PARAMETERS = 5
FRONT_ENDS = ("app.py", "asgi.py", "pages", "ui")


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def core_imports(path: Path) -> set[str]:
    """Every `core...` module a file imports, in any form and anywhere in it (TYPE_CHECKING, functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "core")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "core":
                found.update(f"core.{alias.name}" for alias in node.names)
            elif node.module.split(".")[0] == "core":
                found.add(node.module)
    return found


def package_of(module: str) -> str:
    """`core.models.catalog` -> `models`; `core.errors` -> `errors`."""
    return module.split(".")[1]


def test_every_core_package_has_a_layer() -> None:
    packages = {package_of(module_name(path)) for path in CORE_FILES if module_name(path) != "core"}
    assert packages <= set(LAYERS), f"not in the layer table: {sorted(packages - set(LAYERS))}"


def layer_violations() -> list[str]:
    found = []
    for path in CORE_FILES:
        module = module_name(path)
        if module == "core":
            continue
        here = package_of(module)
        for imported in core_imports(path):
            there = package_of(imported) if imported != "core" else here
            if there == here or here in {"services", "cli", "admin"}:  # the composition root and the CLI wire anything
                continue
            if there == "errors":  # the vocabulary every layer speaks, config's refusals included
                continue
            if LAYERS[there] >= LAYERS[here]:
                found.append(f"{module} (L{LAYERS[here]}) imports {imported} (L{LAYERS[there]})")
    return found


def test_core_imports_only_go_down() -> None:
    assert layer_violations() == []


def test_front_ends_import_down_only() -> None:
    """pages -> ui -> core and api -> core; ui never imports pages; core never imports a front end; the Streamlit
    front end and the HTTP API never import each other."""
    offenders = []
    for path in CORE_FILES:
        offenders += [f"{ids(path)} imports {m}" for m in imported_modules(path) & {"ui", "pages", "api", "app"}]
    for path in [*(ROOT / "ui").rglob("*.py"), *PAGE_FILES, ROOT / "app.py", ROOT / "asgi.py"]:
        offenders += [f"{ids(path)} imports {m}" for m in imported_modules(path) & {"pages", "api"}]
    for path in API_FILES:
        offenders += [f"{ids(path)} imports {m}" for m in imported_modules(path) & {"ui", "pages", "app", "asgi"}]
    assert API_FILES, "the HTTP API lives in api/"
    assert offenders == []


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in CORE_FILES}
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        # `from core.x import y` may name a submodule y: the edge goes to it when it exists.
        targets = set()
        for imported in core_imports(path):
            targets.add(imported)
        graph[module] = {t for t in targets if t in modules and t != module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle_in_core() -> None:
    assert find_cycle(import_graph()) is None


def test_the_cycle_finder_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_libraries_are_imported_only_in_their_homes() -> None:
    app_files = [p for p in ROOT.glob("**/*.py") if p.relative_to(ROOT).parts[0] in {"core", "ui", "pages", "api"}]
    app_files += [ROOT / "app.py", ROOT / "asgi.py"]
    offenders = []
    for path in app_files:
        where = ids(path)
        for library in imported_modules(path) & set(LIBRARY_HOMES):
            if not where.startswith(LIBRARY_HOMES[library]):
                offenders.append(f"{where} imports {library}")
    assert offenders == []


def functions(path: Path) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    yield from (
        n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    )


def parameter_count(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    arguments = function.args
    names = [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]
    return len([name for name in names if name not in {"self", "cls"}])


def test_size_budgets() -> None:
    """Pages under 150 lines, core and api modules under 300, functions that fit a screen, five parameters at most."""
    offenders = []
    for path in PAGE_FILES:
        if (lines := len(path.read_text().splitlines())) > MAX_PAGE_LINES:
            offenders.append(f"{ids(path)}: {lines} lines (page budget {MAX_PAGE_LINES})")
    for path in [*CORE_FILES, *API_FILES]:
        if (lines := len(path.read_text().splitlines())) > MAX_CORE_MODULE_LINES:
            offenders.append(f"{ids(path)}: {lines} lines (module budget {MAX_CORE_MODULE_LINES})")
    for path in [*CORE_FILES, *PAGE_FILES, *(ROOT / "ui").rglob("*.py"), *API_FILES]:
        for function in functions(path):
            if (length := (function.end_lineno or function.lineno) - function.lineno + 1) > MAX_FUNCTION_LINES:
                offenders.append(f"{ids(path)}:{function.lineno} {function.name}: {length} lines")
            if (count := parameter_count(function)) > MAX_PARAMETERS:
                offenders.append(f"{ids(path)}:{function.lineno} {function.name}: {count} parameters")
    assert offenders == [], "\n".join(offenders)


def full_imports(path: Path) -> set[str]:
    """Every absolute import of a file by its full dotted name (`from a.b import c` gives `a.b`)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted([*(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]), ids=ids)
def test_shared_test_code_lives_in_helpers_and_fakes(path: Path) -> None:
    """A test module imports what it shares from tests/helpers.py and tests/fakes/, never from another test module
    or conftest (importing one runs its tests' module code twice and hides where a helper lives)."""
    borrowed = {name for name in full_imports(path) if name.startswith(("tests.test_", "tests.conftest"))}
    assert not borrowed, f"{ids(path)} imports {sorted(borrowed)}"
