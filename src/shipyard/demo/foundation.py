"""Demo steps of the foundation: scaffold a platform, validate it, apply the branch rules."""

from __future__ import annotations

from shipyard.demo.context import DemoContext


def scaffold(ctx: DemoContext) -> None:
    """Create the seed's monorepo with the embedded default (local registry, local config repo)."""
    ctx.shipyard("init", str(ctx.repo), "--org", "acme", "--domain", "acme.example.com", cwd=ctx.scratch)


def check(ctx: DemoContext) -> None:
    """Validate the spec and the workspace; show services, packages, edges and environments."""
    ctx.shipyard("check")


def branches(ctx: DemoContext) -> None:
    """Branch names are untrusted input: good ones pass, bad ones are refused with the rule they break."""
    ctx.shipyard("branch", "check", "feature/user-service-oauth2", "--target", "develop")
    ctx.shipyard("branch", "check", "release/v1.2.0", "--target", "main")
    ctx.shipyard("branch", "check", "feature/billing-service-x", expect=1)
    ctx.shipyard("branch", "check", "release/v1.2", expect=1)
    ctx.shipyard("branch", "check", "feature/user-service-oauth2", "--target", "main", expect=1)
