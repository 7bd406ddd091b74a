"""A summary of a platform: the spec and the workspace, validated together. Used by ``check`` and the demo."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.errors import SpecError
from shipyard.spec.loader import place_problems, problem_at
from shipyard.spec.model import Platform
from shipyard.workspace.model import Workspace


@dataclass(frozen=True)
class Summary:
    """A platform and its workspace, validated together."""

    spec_path: Path
    platform: Platform
    workspace: Workspace

    def to_json(self) -> dict[str, Any]:
        """The summary as JSON data (what ``check --json`` prints)."""
        platform, workspace = self.platform, self.workspace
        return {
            "spec": str(self.spec_path),
            "org": platform.org,
            "domain": platform.domain,
            "registry": {"kind": platform.registry.kind, "url": platform.registry.url},
            "services": [p.name for p in workspace.services],
            "packages": [p.name for p in workspace.packages],
            "projects": [
                {
                    "name": p.name,
                    "kind": p.kind.value,
                    "language": p.language,
                    "path": p.path,
                    "dependsOn": workspace.dependencies(p.name),
                }
                for p in workspace.projects.values()
            ],
            "edges": [{"from": e.source, "to": e.target, "via": e.via} for e in workspace.edges],
            "environments": [
                {
                    "name": e.name,
                    "cluster": e.cluster,
                    "namespace": e.ns,
                    "access": e.access.value,
                    "strategy": e.strategy.kind,
                    "promotion": e.promotion.value,
                    "maturities": [m.value for m in e.maturities],
                    "host": e.host_pattern(platform.domain, platform.org),
                }
                for e in platform.environments
            ],
        }


def summarize(spec_path: Path, platform: Platform, workspace: Workspace) -> Summary:
    """Check the loaded spec against the discovered workspace; their summary."""
    check_against_workspace(spec_path, platform, workspace)
    return Summary(spec_path, platform, workspace)


def check_against_workspace(spec_path: Path, platform: Platform, workspace: Workspace) -> None:
    """The spec may only configure services that exist (a typo would otherwise be silently ignored), and its
    host patterns must make DNS names for every service."""
    services = [p.name for p in workspace.services]
    problems = []
    for name in platform.services:
        if name not in services:
            suggestion = next(iter(difflib.get_close_matches(name, services, n=1)), None)
            problems.append(
                problem_at(
                    spec_path,
                    ("services", name),
                    f"no service '{name}' in services/",
                    valid=", ".join(services) or "(no services found)",
                    suggestion=suggestion,
                )
            )
    problems += place_problems(spec_path, platform.host_problems(services))
    if problems:
        raise SpecError(problems)
