#!/bin/sh
# Audit the packages installed in the virtualenv for known vulnerabilities (pip-audit); `make test` runs it.
#
# A known vulnerability fails the build. When the vulnerability database cannot be reached (no internet, or a
# package mirror that does not serve PyPI's per-release JSON API, so that every package comes back "not found"),
# it prints why and passes: the build records that it could not audit rather than failing on the network.
# Any other pip-audit failure fails the build. Extra arguments go to pip-audit (e.g. -s osv --osv-url URL).
set -u
BIN="${VENV:-.venv}/bin"
report=$(mktemp)
errors=$(mktemp)
trap 'rm -f "$report" "$errors"' EXIT

"$BIN/pip-audit" --local --progress-spinner off --format json --output "$report" "$@" 2>"$errors"
status=$?

"$BIN/python" - "$report" "$errors" "$status" <<'EOF'
import json
import sys
from pathlib import Path

report, errors, status = Path(sys.argv[1]).read_text(), Path(sys.argv[2]).read_text(), int(sys.argv[3])
NETWORK = ("ConnectionError", "Could not connect", "NameResolutionError", "Max retries exceeded", "timed out")


def skipped(why: str) -> None:
    print(f"pip-audit: could not reach the vulnerability database ({why}); skipped")
    sys.exit(0)


try:
    dependencies = json.loads(report)["dependencies"]
except (ValueError, KeyError, TypeError):
    last = next((line.strip() for line in reversed(errors.splitlines()) if line.strip()), f"exit status {status}")
    if any(marker in errors for marker in NETWORK):
        skipped(last[:300])
    sys.stderr.write(errors)
    print(f"pip-audit: failed ({last[:300]})")
    sys.exit(status or 1)

found = [(dep["name"], dep["version"], vuln) for dep in dependencies for vuln in dep.get("vulns", [])]
audited = [dep["name"] for dep in dependencies if "skip_reason" not in dep]
not_audited = [dep for dep in dependencies if "skip_reason" in dep]
for name, version, vuln in found:
    fixed_in = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
    print(f"{name} {version}: {' / '.join([vuln['id'], *vuln.get('aliases', [])])} (fixed in: {fixed_in})")
if found:
    print(f"pip-audit: {len(found)} known vulnerabilities in {len({name for name, _, _ in found})} packages")
    sys.exit(1)
if status != 0:
    sys.stderr.write(errors)
    print(f"pip-audit: failed with exit status {status}")
    sys.exit(status)
if not_audited and not audited:
    skipped(f"none of the {len(not_audited)} packages could be looked up: {not_audited[0]['skip_reason']}")
if not_audited:
    print("pip-audit: not audited: " + ", ".join(dep["name"] for dep in not_audited))
print(f"pip-audit: no known vulnerabilities in {len(audited)} packages")
EOF
