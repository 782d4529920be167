"""Supply chain: every dependency pinned, no known-bad litellm, a recent Streamlit, no stray `.pth` start-up hooks,
secrets git-ignored, and a vulnerability audit in the test command that fails on findings."""

from __future__ import annotations

import json
import os
import site
import socket
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.fakes.loopback import LoopbackFake, LoopbackHandler, LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENT_FILES = ("requirements.txt", "requirements-dev.txt", "constraints.txt")
MALICIOUS_LITELLM = {Version("1.82.7"), Version("1.82.8")}
MIN_STREAMLIT = Version("1.54")

# `.pth` files run code at every interpreter start (the malicious litellm 1.82.8 shipped one), so each allowed one
# is pinned to its exact content.
ALLOWED_PTH = {
    # setuptools: makes `import distutils` use its bundled copy; `python -m venv` installs it with setuptools.
    "distutils-precedence.pth": "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, "
    "'local') == 'local'; enabled and __import__('_distutils_hack').add_shim(); ",
    # virtualenv and `uv venv` (instead of `python -m venv`) patch the interpreter's start-up with this one.
    "_virtualenv.pth": "import _virtualenv",
}


def pins(name: str) -> dict[str, Requirement]:
    """The requirements a file lists, by canonical name (options such as `-r` and comments skipped)."""
    lines = (line.split("#")[0].strip() for line in (ROOT / name).read_text().splitlines())
    requirements = (Requirement(line) for line in lines if line and not line.startswith("-"))
    return {canonicalize_name(requirement.name): requirement for requirement in requirements}


def pinned_version(requirement: Requirement) -> Version:
    (specifier,) = requirement.specifier
    return Version(specifier.version)


@pytest.mark.parametrize("name", REQUIREMENT_FILES)
def test_every_dependency_is_pinned_exactly(name: str) -> None:
    requirements = pins(name)
    assert requirements
    loose = {
        package: str(requirement.specifier)
        for package, requirement in requirements.items()
        if len(requirement.specifier) != 1
        or next(iter(requirement.specifier)).operator != "=="
        or "*" in str(requirement.specifier)
    }
    assert loose == {}


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-dev.txt"])
def test_constraints_agree_with_the_requirements(name: str) -> None:
    constraints = pins("constraints.txt")
    disagree = {
        package: (str(requirement.specifier), str(constraints[package].specifier) if package in constraints else None)
        for package, requirement in pins(name).items()
        if package not in constraints or pinned_version(constraints[package]) != pinned_version(requirement)
    }
    assert disagree == {}


def test_installed_versions_are_the_pinned_ones() -> None:
    """What runs is what constraints.txt (a pip freeze of requirements*.txt) says."""
    different = {}
    for package, requirement in pins("constraints.txt").items():
        try:
            installed = Version(metadata.version(package))
        except metadata.PackageNotFoundError:
            installed = None
        # `==2.13.0` admits the local build `2.13.0+cpu` (torch's CPU wheel), as pip does.
        if installed is None or not requirement.specifier.contains(installed, prereleases=True):
            different[package] = (str(requirement.specifier), str(installed))
    assert different == {}


@pytest.mark.parametrize("name", REQUIREMENT_FILES)
def test_litellm_is_never_a_malicious_release(name: str) -> None:
    requirement = pins(name).get("litellm")
    if name != "requirements-dev.txt":
        assert requirement is not None
    if requirement is not None:
        assert pinned_version(requirement) not in MALICIOUS_LITELLM
        assert not any(requirement.specifier.contains(version) for version in MALICIOUS_LITELLM)


def test_installed_litellm_is_not_a_malicious_release() -> None:
    assert Version(metadata.version("litellm")) not in MALICIOUS_LITELLM


@pytest.mark.parametrize("name", ["requirements.txt", "constraints.txt"])
def test_streamlit_is_recent(name: str) -> None:
    assert pinned_version(pins(name)["streamlit"]) >= MIN_STREAMLIT
    assert Version(metadata.version("streamlit")) >= MIN_STREAMLIT


def site_directories() -> list[Path]:
    """Every directory the running interpreter reads `.pth` files from."""
    paths = {*site.getsitepackages(), sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    if site.ENABLE_USER_SITE:
        paths.add(site.getusersitepackages())
    return sorted(Path(path) for path in paths if Path(path).is_dir())


def test_no_unexpected_pth_files() -> None:
    directories = site_directories()
    assert any(directory.is_relative_to(sys.prefix) for directory in directories)
    found = {path.name: path.read_text().strip() for directory in directories for path in directory.glob("*.pth")}
    unexpected = {name: text for name, text in found.items() if ALLOWED_PTH.get(name, "").strip() != text}
    assert unexpected == {}


@pytest.mark.parametrize(
    "path", [".streamlit/secrets.toml", ".env", "data/app.db", "data/master.key", "data/cookie.key", "data/"]
)
def test_secrets_and_data_are_git_ignored(path: str) -> None:
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=ROOT, check=False)
    assert ignored.returncode == 0
    tracked = subprocess.run(["git", "ls-files", "--", path], cwd=ROOT, capture_output=True, text=True, check=True)
    assert tracked.stdout == ""


def test_pip_audit_is_pinned_and_run_by_make_test() -> None:
    assert "pip-audit" in pins("requirements-dev.txt")
    makefile = (ROOT / "Makefile").read_text()
    test_target = next(line for line in makefile.splitlines() if line.startswith("test:"))
    assert " audit" in test_target
    assert "scripts/audit.sh" in makefile.split("\naudit:", 1)[1].split("\n\n", 1)[0]


class FakeOsv(LoopbackFake):
    """OSV's query API on 127.0.0.1: reports one made-up vulnerability for each package in `vulnerable`."""

    thread_name = "fake-osv"

    def __init__(self, vulnerable: set[str]) -> None:
        super().__init__()
        self.vulnerable = vulnerable
        self.queried: list[str] = []

    def _make_server(self) -> LoopbackServer:
        fake = self

        class Handler(LoopbackHandler):
            def do_POST(self) -> None:
                query = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                name = query["package"]["name"]
                fake.queried.append(name)
                body = json.dumps(fake.answer(name, query["version"])).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return LoopbackServer(Handler)

    def answer(self, name: str, version: str) -> dict:
        if name not in self.vulnerable:
            return {}
        fixed = {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "9999"}]}
        affected = {"package": {"name": name, "ecosystem": "PyPI"}, "ranges": [fixed]}
        return {"vulns": [{"id": f"PYSEC-0000-{name}", "summary": "made up for a test", "affected": [affected]}]}


def run_audit(*arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "VENV": str(Path(sys.prefix))}
    return subprocess.run(
        ["sh", str(ROOT / "scripts" / "audit.sh"), *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_audit_fails_on_a_known_vulnerability() -> None:
    with FakeOsv({"litellm"}) as osv:
        result = run_audit("-s", "osv", "--osv-url", osv.url + "/v1/query")
    assert "litellm" in osv.queried and "streamlit" in osv.queried
    assert result.returncode != 0, result.stdout + result.stderr
    assert "PYSEC-0000-litellm" in result.stdout
    assert "1 known vulnerabilities in 1 packages" in result.stdout


def test_audit_passes_when_nothing_is_known() -> None:
    with FakeOsv(set()) as osv:
        result = run_audit("-s", "osv", "--osv-url", osv.url + "/v1/query")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"no known vulnerabilities in {len(set(osv.queried))} packages" in result.stdout


def test_audit_says_so_and_passes_when_the_database_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/v1/query"
    result = run_audit("-s", "osv", "--osv-url", closed)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("pip-audit: could not reach the vulnerability database (")
    assert result.stdout.rstrip().endswith("); skipped")


def test_audit_fails_when_pip_audit_itself_fails() -> None:
    result = run_audit("--no-such-option")
    assert result.returncode != 0
    assert "pip-audit: failed" in result.stdout
