"""The locks match pyproject.toml: every dependency it names (and each test extra, in the test lock) is
pinned there at a version inside its range, with hashes. A dependency added to pyproject.toml without
`bash .ci/lock` fails here, naming it."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)")


def pins(lock: Path) -> dict[str, list[Version]]:
    found: dict[str, list[Version]] = {}
    text = lock.read_text()
    if "--hash=sha256:" not in text:
        sys.exit(f"{lock.name} has no hashes: refresh it with `bash .ci/lock`")
    for line in text.splitlines():
        if m := PIN.match(line):
            found.setdefault(canonicalize_name(m[1]), []).append(Version(m[2]))
    return found


def check(lock: Path, wanted: list[str]) -> list[str]:
    pinned = pins(lock)
    problems = []
    for spec in wanted:
        req = Requirement(spec)
        versions = pinned.get(canonicalize_name(req.name))
        if not versions:
            problems.append(f"{lock.name}: {req.name} is not pinned")
        elif not any(req.specifier.contains(v, prereleases=True) for v in versions):
            problems.append(f"{lock.name}: {req.name} {versions[0]} is outside {req.specifier}")
    return problems


pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
project = pyproject["project"]
runtime = list(project["dependencies"]) + list(pyproject["build-system"]["requires"])  # the build backend
problems = check(ROOT / "requirements.lock", runtime)
problems += check(ROOT / "requirements-test.lock", runtime + list(project["optional-dependencies"]["test"]))
if problems:
    sys.exit("\n".join(problems) + "\nRefresh the locks with `bash .ci/lock`.")
print("requirements.lock and requirements-test.lock match pyproject.toml")
