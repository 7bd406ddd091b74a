"""The render targets: functions ``(platform, workspace) -> {relative path: file text}``.

``CONFIG_TARGETS`` write into the GitOps config repo (``render --out``); ``APP_TARGETS`` write into
the application monorepo (``render --app-dir``). Adding a target is adding it to a list.
"""

from __future__ import annotations

from collections.abc import Callable

from shipyard.render.argocd import render_argocd
from shipyard.render.bootstrap import render_bootstrap
from shipyard.render.jobs import render_jobs
from shipyard.render.kargo import render_kargo
from shipyard.render.kustomize import render_kustomize
from shipyard.render.tekton.target import render_tekton
from shipyard.render.verdaccio import render_verdaccio
from shipyard.spec.model import Platform
from shipyard.workspace.model import Workspace

Target = Callable[[Platform, Workspace], dict[str, str]]

CONFIG_TARGETS: list[Target] = [
    render_kustomize,
    render_argocd,
    render_kargo,
    render_bootstrap,
    render_jobs,
    render_verdaccio,
]
APP_TARGETS: list[Target] = [render_tekton]
