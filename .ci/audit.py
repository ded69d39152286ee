"""Dependency audit for CI: known vulnerabilities of the installed packages (pip-audit).

Fails on any known vulnerability. When the advisory service does not answer (this network
reaches the package index only, and a mirror may not serve advisories), says so and passes:
the audit then runs wherever CI has the service."""

import json
import subprocess
import sys

command = [sys.executable, "-m", "pip_audit", "--format", "json", "--progress-spinner", "off",
           "--skip-editable"]  # fmt: skip
result = subprocess.run(command, capture_output=True, text=True, timeout=600)
try:
    report = json.loads(result.stdout)
except ValueError:
    print(f"dependency audit: the advisory service did not answer ({result.stderr.strip()[-300:]})")
    sys.exit(0)
packages = report["dependencies"]
audited = [package for package in packages if "skip_reason" not in package]
found = [(p["name"], p["version"], v["id"], v.get("fix_versions")) for p in audited
         for v in p.get("vulns", [])]  # fmt: skip
for name, version, advisory, fixes in found:
    print(f"dependency audit: {name} {version}: {advisory} (fixed in {', '.join(fixes) or '—'})")
if found:
    sys.exit(1)
if not audited:
    print(f"dependency audit: the advisory service knows none of the {len(packages)} packages "
          "(no answer from it here); not audited")  # fmt: skip
else:
    print(f"dependency audit: {len(audited)} packages, no known vulnerability")
