"""Running one npm script (``build``, ``test``) in the workspace's packages, in dependency order.

npm's own ``--workspaces`` runs packages in the order of the ``workspaces`` globs, so a package can be built
before the packages it imports from; here each package comes after every package it depends on. A build
takes the named packages' workspace dependencies along (their types and code are what it compiles against);
a test runs only in the packages named.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.errors import ShipyardError
from shipyard.workspace.model import Workspace

_TAIL = 25  # lines of a failed script's output shown in the error


@dataclass(frozen=True)
class PackageScript:
    """One package's run of the script; ``present`` is False when its package.json has no such script."""

    project: str
    path: str
    script: str
    present: bool

    @property
    def command(self) -> list[str]:
        """The npm command, run in the package's folder."""
        return ["npm", "run", self.script]

    def to_json(self) -> dict[str, Any]:
        """JSON data (documented in docs/registries.md)."""
        return {"name": self.project, "path": self.path, "script": self.script, "present": self.present}


@dataclass(frozen=True)
class ScriptReport:
    """What ``packages build`` or ``packages test`` ran (or, on a dry run, would run), in order."""

    script: str
    runs: list[PackageScript]
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        """JSON data (documented in docs/registries.md)."""
        return {"script": self.script, "dryRun": self.dry_run, "packages": [r.to_json() for r in self.runs]}


def _scripts_of(workspace: Workspace, path: str) -> dict[str, Any]:
    manifest = workspace.root / path / "package.json"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ShipyardError(f"{path}/package.json cannot be read: {exc}") from exc
    scripts = data.get("scripts") if isinstance(data, dict) else None
    return scripts if isinstance(scripts, dict) else {}


def plan_scripts(
    workspace: Workspace, script: str, names: Sequence[str] | None = None, *, with_dependencies: bool = False
) -> list[PackageScript]:
    """The packages ``script`` runs in (every package when ``names`` is None), each after its dependencies.

    ``names`` may use workspace names (``utils``) or npm names (``@acme/utils``); ``with_dependencies`` adds the
    workspace packages they depend on, transitively.
    """
    packages = {p.name: p for p in workspace.packages}
    by_npm_name = {str(p.npm_name): p.name for p in packages.values() if p.npm_name}
    wanted = set(packages) if names is None else {by_npm_name.get(n, n) for n in names}
    unknown = sorted(wanted - set(packages))
    if unknown:
        raise ShipyardError(
            f"not a workspace package: {', '.join(unknown)}", hint=f"packages: {', '.join(sorted(packages)) or 'none'}"
        )
    if with_dependencies:
        pending = list(wanted)
        while pending:
            for dependency in workspace.dependencies(pending.pop()):
                if dependency in packages and dependency not in wanted:
                    wanted.add(dependency)
                    pending.append(dependency)
    return [
        PackageScript(name, packages[name].path, script, script in _scripts_of(workspace, packages[name].path))
        for name in workspace.topological_order(wanted)
    ]


def run_scripts(
    workspace: Workspace, runs: Sequence[PackageScript], done: Callable[[PackageScript], None] | None = None
) -> None:
    """Run each present script in its package's folder, in order; the first failure raises with its output's end.

    npm puts the ``node_modules/.bin`` of the package and of every folder above it on the script's PATH, so
    tools installed at the workspace's root (``tsc``) are found.
    """
    if any(r.present for r in runs) and shutil.which("npm") is None:
        raise ShipyardError("npm is not installed; package scripts run with npm")
    for run in runs:
        if not run.present:
            continue
        folder: Path = workspace.root / run.path
        proc = subprocess.run(run.command, cwd=folder, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            lines = (proc.stdout + proc.stderr).strip().splitlines()[-_TAIL:]
            tail = "\n  ".join(lines)
            raise ShipyardError(f"npm run {run.script} failed in {run.path} (exit {proc.returncode}):\n  {tail}")
        if done is not None:
            done(run)


def affected_packages(path: Path) -> list[str]:
    """The package names in a ``shipyard affected --json`` file; anything else in it is an error, never a guess."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ShipyardError(f"{path}: cannot read the affected projects ({exc})") from exc
    packages = data.get("packages") if isinstance(data, dict) else None
    if not isinstance(packages, list) or not all(
        isinstance(p, dict) and isinstance(p.get("name"), str) for p in packages
    ):
        raise ShipyardError(
            f"{path}: not the output of `shipyard affected --json` (no packages list of names)",
            hint="write it with: shipyard affected --base REF --json > FILE",
        )
    return [p["name"] for p in packages]
