"""Demo steps of render: the scaffolded platform's GitOps config repo, rendered, committed and validated."""

from __future__ import annotations

from shipyard.demo.context import DemoContext


def render(ctx: DemoContext) -> None:
    """Render Kustomize, Argo CD, Kargo, bootstrap and CronJobs into the local config repo and commit them."""
    ctx.shipyard("render", "--commit")
    ctx.shipyard("render", "--check")
    ctx.shipyard("render")


def validate(ctx: DemoContext) -> None:
    """Validate the render: built-in kinds strictly, every overlay built with kubectl kustomize, the policies."""
    ctx.shipyard("validate", ".shipyard/gitops-config")
