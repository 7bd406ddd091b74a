"""Demo steps of versioning: versions from git on the scaffolded repo, pushed to a shared remote as CI would."""

from __future__ import annotations

import shlex

from shipyard.demo.context import DemoContext
from shipyard.git import Git


def _git(ctx: DemoContext, *args: str) -> str:
    ctx.console.print(f"[dim]$[/] [bold]git {shlex.join(args)}[/]")
    return Git(ctx.repo).run(*args)


def develop_alpha(ctx: DemoContext) -> None:
    """A shared remote for the app repo; a merge to develop gets an alpha, which CI tags and pushes."""
    remote = ctx.scratch / "acme-app.git"
    Git(ctx.scratch).run("init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    ctx.facts["versioning.branch"] = Git(ctx.repo).current_branch() or "main"
    _git(ctx, "remote", "add", "origin", str(remote))
    _git(ctx, "push", "--quiet", "origin", "main", "develop")
    _git(ctx, "switch", "--quiet", "develop")
    _git(ctx, "commit", "--quiet", "--allow-empty", "-m", "feat(user-service): oauth2 login")
    _git(ctx, "push", "--quiet", "origin", "develop")
    ctx.shipyard("version")
    ctx.shipyard("release", "tag", "--push", "origin")


def release_beta(ctx: DemoContext) -> None:
    """Cut release/v0.1.0: its builds are betas (a fix is beta 2), and develop moves on to 0.2.0."""
    ctx.shipyard("release", "start", "0.1.0", "--dry-run")
    ctx.shipyard("release", "start", "0.1.0")
    _git(ctx, "switch", "--quiet", "release/v0.1.0")
    ctx.shipyard("release", "tag", "--push", "origin")
    _git(ctx, "commit", "--quiet", "--allow-empty", "-m", "fix(payment-service): rounding")
    _git(ctx, "push", "--quiet", "origin", "release/v0.1.0")
    ctx.shipyard("release", "tag", "--push", "origin")
    ctx.shipyard("version", "--json")


def main_stable(ctx: DemoContext) -> None:
    """Finish the release: merged into main with its stable tag and aliases, and back into develop."""
    ctx.shipyard("release", "finish")
    _git(ctx, "fetch", "--quiet", "origin")
    _git(ctx, "switch", "--quiet", "-C", "main", "origin/main")
    ctx.shipyard("version")
    _git(ctx, "switch", "--quiet", "-C", "develop", "origin/develop")
    ctx.shipyard("version")
    ctx.shipyard("version", "--pr", "42", "--branch", "feature/user-service-oauth2")
    _git(ctx, "branch", "--quiet", "--delete", "--force", "release/v0.1.0")
    _git(ctx, "switch", "--quiet", str(ctx.facts["versioning.branch"]))
