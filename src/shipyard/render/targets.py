"""The render targets, by name: each turns the platform and the workspace into files ``{relative path: text}``.

A target writes either into the GitOps config repo (``render --out``) or into the application monorepo
(``render --app-dir``), only under the top-level folders it owns (render removes its orphans there), and
may carry checks that must pass before anything is written. Adding a target is adding it to ``TARGETS``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from shipyard.errors import ShipyardError
from shipyard.render.argocd import render_argocd
from shipyard.render.bootstrap import render_bootstrap
from shipyard.render.jobs import render_jobs
from shipyard.render.kargo import render_kargo
from shipyard.render.kustomize import render_kustomize
from shipyard.render.serve import render_serve
from shipyard.render.tekton.checks import check_files
from shipyard.render.tekton.target import render_tekton
from shipyard.render.verdaccio import render_verdaccio
from shipyard.spec.model import Platform
from shipyard.workspace.model import Workspace

Render = Callable[[Platform, Workspace], dict[str, str]]
Check = Callable[[dict[str, str]], list[str]]


@dataclass(frozen=True)
class Target:
    """A named render target: how it renders, which folders it owns, where they go, what it checks."""

    name: str
    render: Render
    roots: tuple[str, ...]
    app: bool = False  # True: the application monorepo (``--app-dir``), else the config repo (``--out``)
    check: Check | None = None

    def files(self, platform: Platform, workspace: Workspace) -> dict[str, str]:
        """The rendered files, once they stay in the target's folders and pass its checks."""
        files = self.render(platform, workspace)
        for path in files:
            if path.split("/", 1)[0] not in self.roots or "/" not in path:
                raise ShipyardError(
                    f"render target {self.name} produced '{path}', outside its folders {', '.join(self.roots)}"
                )
        problems = self.check(files) if self.check else []
        if problems:
            raise ShipyardError(f"the rendered {self.name} breaks Shipyard's checks:\n  " + "\n  ".join(problems))
        return files


TARGETS: tuple[Target, ...] = (
    Target("kustomize", render_kustomize, ("base", "overlays")),
    Target("argocd", render_argocd, ("argocd",)),
    Target("kargo", render_kargo, ("kargo",)),
    Target("bootstrap", render_bootstrap, ("bootstrap",)),
    Target("jobs", render_jobs, ("jobs",)),
    Target("verdaccio", render_verdaccio, ("verdaccio",)),
    Target("serve", render_serve, ("serve",)),
    Target("tekton", render_tekton, ("tekton",), app=True, check=check_files),
)
NAMES = tuple(t.name for t in TARGETS)
CONFIG_TARGETS: list[Target] = [t for t in TARGETS if not t.app]
APP_TARGETS: list[Target] = [t for t in TARGETS if t.app]


def select(names: Iterable[str]) -> list[Target]:
    """The targets named (every target when none is), in render order; an unknown name is an error."""
    wanted = set(names)
    unknown = sorted(wanted - set(NAMES))
    if unknown:
        raise ShipyardError(
            f"unknown render target {', '.join(repr(n) for n in unknown)}", hint=f"valid targets: {', '.join(NAMES)}"
        )
    return [t for t in TARGETS if t.name in wanted or not wanted]
