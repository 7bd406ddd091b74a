"""The story: one release cycle on the scaffolded platform, every change delivered to CI as the webhook GitHub
would send and run by ``shipyard ci run`` from the rendered Tekton pipelines. Nothing in it is a constant of
this file: versions come from git, digests from what buildah pushed, the pull request's number from GitHub's
API (the stand-in's)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shipyard.ci.events import ZERO
from shipyard.demo.context import DemoContext
from shipyard.demo.cycle import REPO, cycle_of, deliver, pull_request, push, pushed, remote_head, version_of
from shipyard.demo.platform import act_as
from shipyard.github.feedback import MARKER
from shipyard.times import format_rfc3339

FEATURE = "feature/user-service-email-limit"
SERVICES = ("notification-service", "payment-service", "user-service")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    if old not in text:
        raise RuntimeError(f"{path}: the scaffold changed; '{old}' is not in it")
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def first_alpha(ctx: DemoContext) -> None:
    """Alpha pipeline. develop is pushed for the first time: every service is affected, so buildah builds all
    three, pushes them, tags the commit with the alpha version git gives it, records the freight in the config
    repo and renders the config repo from develop."""
    body = push(ctx, "develop")
    deliver(ctx, "push", body, "develop-first")
    ctx.facts["alpha.first"] = _tag_of(ctx, "develop")


def open_pull_request(ctx: DemoContext) -> None:
    """PR pipeline. Ada changes user-service on a feature branch and opens a pull request: the branch name is
    checked, the spec validated, the affected projects linted and tested, user-service built as pr-N-sha,
    pushed, scanned, its preview opened in the config repo, and the PR's Shipyard comment written."""
    cycle = cycle_of(ctx)
    act_as(ctx, "ada")
    ctx.git("switch", "--quiet", "-c", FEATURE, "develop")
    _edit(
        ctx.repo / "services" / "user-service" / "src" / "server.js",
        '!input.email.includes("@")',
        '!input.email.includes("@") || input.email.length > 254',
    )
    ctx.git("commit", "--quiet", "-am", "fix(user-service): refuse e-mail addresses longer than RFC 5321 allows")
    ctx.git("push", "--quiet", "origin", FEATURE)
    number = cycle.open_pull(ctx, "user-service: refuse over-long e-mail addresses", FEATURE, "develop")
    ctx.facts["pr"] = number
    # GitHub keeps a pull request's head under refs/pull/<n>/head; the PR pipeline clones that.
    ctx.git("push", "--quiet", "origin", f"{FEATURE}:refs/pull/{number}/head")
    deliver(ctx, "pull_request", pull_request(ctx, "opened", number, FEATURE, "develop"), f"pr-{number}")
    head = ctx.git("rev-parse", FEATURE, show=False)
    tag = f"pr-{number}-{head[:7]}"
    ctx.facts["pr.digest"] = cycle.digest("user-service", tag)
    ctx.console.print(f"registry: services/user-service:{tag} is {ctx.facts['pr.digest']}")
    ctx.shipyard("preview", "list")
    comments = [c for c in cycle.github.comments_of(REPO, number) if MARKER in c]
    ctx.console.print(f"[bold]PR #{number}'s Shipyard comment on GitHub (stand-in):[/]")
    ctx.console.print(comments[-1] if comments else "(none)", markup=False, highlight=False)


def merge(ctx: DemoContext) -> None:
    """Merge, preview clean-up, alpha pipeline, auto-promotion. The PR is merged into develop: GitHub sends the
    PR's closed event (its preview is torn down) and develop's push (an alpha of the affected user-service;
    the others keep their digests under the new version). Kargo's auto-promotion, run here by `promote --auto`,
    takes the new freight to dev and then staging."""
    cycle = cycle_of(ctx)
    number = int(str(ctx.facts["pr"]))
    act_as(ctx, "riley")
    ctx.git("switch", "--quiet", "develop")
    ctx.git("merge", "--quiet", "--no-ff", FEATURE, "-m", f"Merge pull request #{number} from acme/{FEATURE}")
    body = push(ctx, "develop")
    cycle.github.merge(REPO, number)
    deliver(ctx, "pull_request", pull_request(ctx, "closed", number, FEATURE, "develop"), f"pr-{number}-closed")
    deliver(ctx, "push", body, "develop-merge")
    alpha = _tag_of(ctx, "develop")
    ctx.facts["alpha"] = alpha
    ctx.shipyard("preview", "list")
    ctx.shipyard("promote", "--auto")
    ctx.shipyard("status")


def release_start(ctx: DemoContext) -> None:
    """Beta pipeline. Riley cuts the release whose number git gives develop: release/vX.Y.Z's first build is
    beta.1, tagged, pushed and recorded as freight; Sam (QA) approves it into uat."""
    release = str(version_of(ctx, "develop")["base"])
    ctx.shipyard("release", "start", release)
    branch = f"release/v{release}"
    ctx.git("switch", "--quiet", branch)
    deliver(ctx, "push", pushed(ctx, branch, ZERO), "beta-1")
    beta = _tag_of(ctx, branch)
    ctx.facts.update({"release": release, "release.branch": branch, "beta.1": beta})
    ctx.shipyard("promote", "--version", beta, "--to", "uat", "--approve", "--approver", "sam")


def release_fix(ctx: DemoContext) -> None:
    """Beta pipeline, approvals with identity. Ada fixes payment-service on the release branch (a release takes
    fixes as commits: the branch rules let no pull request into it); beta.2 rebuilds payment-service alone.
    Sam approves beta.2 into uat; Ada may not approve it into preprod (four eyes: she wrote the fix); Quinn, a
    release manager, does."""
    cycle = cycle_of(ctx)
    branch = str(ctx.facts["release.branch"])
    act_as(ctx, "ada")
    ctx.shipyard("branch", "check", "feature/payment-service-rounding", "--target", branch, expect=1)
    server = ctx.repo / "services" / "payment-service" / "src" / "server.js"
    server.write_text(server.read_text(encoding="utf-8") + "// Amounts are rounded half to even, as the ledger does.\n")
    ctx.git("commit", "--quiet", "-am", "fix(payment-service): round amounts half to even")
    deliver(ctx, "push", push(ctx, branch), "beta-2")
    beta = _tag_of(ctx, branch)
    ctx.facts["beta.2"] = beta
    ctx.facts["beta.2.digests"] = {s: cycle.digest(s, beta) for s in SERVICES}
    ctx.shipyard("promote", "--version", beta, "--to", "uat", "--approve", "--approver", "sam")
    ctx.shipyard("promote", "--version", beta, "--to", "preprod", "--approve", "--approver", "ada", expect=1)
    ctx.shipyard("promote", "--version", beta, "--to", "preprod", "--approve", "--approver", "quinn")
    act_as(ctx, "riley")


def release_finish(ctx: DemoContext) -> None:
    """Stable pipeline. Riley finishes the release: merged into main (and back into develop). main's push runs
    the stable pipeline, which finds main's tree is the last beta's and gives that beta's digests the stable
    tags (no rebuild), tags the commit and records the stable freight."""
    ctx.git("switch", "--quiet", "develop")
    ctx.git("pull", "--quiet", "--ff-only", "origin", "develop")
    before = remote_head(ctx, "main")
    ctx.shipyard("release", "finish", "--branch", str(ctx.facts["release.branch"]))
    ctx.git("fetch", "--quiet", "origin")
    ctx.git("switch", "--quiet", "-C", "main", "origin/main")
    ctx.console.print(
        "[dim]release finish also pushed develop (main merged back): its alpha would rebuild what beta.2 changed; "
        "the story follows main.[/]"
    )
    deliver(ctx, "push", pushed(ctx, "main", before), "stable")
    stable = _tag_of(ctx, "main")
    ctx.facts["stable"] = stable
    ctx.facts["stable.git"] = version_of(ctx, "main")["version"]
    ctx.shipyard("image", "tags", cycle_of(ctx).image("user-service"))


def production(ctx: DemoContext) -> None:
    """Production, four eyes. The stable version's digests are beta.2's, which passed preprod, so production
    takes it once two people approve: Ada may not (she wrote its last change), Sam and Quinn do. Trace shows
    what runs there, from which commit, the path it took and who approved each move."""
    stable = str(ctx.facts["stable"])
    ctx.shipyard("promote", "--version", stable, "--to", "production", "--approve", "--approver", "ada", expect=1)
    ctx.shipyard("promote", "--version", stable, "--to", "production", "--approve", "--approver", "sam", expect=1)
    ctx.shipyard("promote", "--version", stable, "--to", "production", "--approve", "--approver", "quinn")
    ctx.shipyard("trace", "payment-service", "--env", "production")


def preview_cleanup(ctx: DemoContext) -> None:
    """Preview clean-up. The closed event tore the pull request's preview down when it merged; the sweeper the
    platform runs as a CronJob (`preview gc`, here with the clock moved past the 7-day TTL) finds nothing left
    behind."""
    later = format_rfc3339(datetime.now(UTC) + timedelta(days=8))
    ctx.shipyard("preview", "list")
    ctx.shipyard("preview", "gc", "--now", later)


def _production_commit(trace: dict[str, Any]) -> str:
    """The source commit of what runs in production, from ``trace --json``."""
    for where in trace["environments"]:
        if where["env"] == "production":
            return str(where["sourceCommit"])
    raise RuntimeError("trace shows nothing in production")


def _tag_of(ctx: DemoContext, branch: str) -> str:
    """The version tag the pipeline pushed for ``branch``'s head (read back from the shared remote)."""
    ctx.git("fetch", "--quiet", "--tags", "origin")
    tags = ctx.git("tag", "--points-at", f"origin/{branch}", show=False).split()
    if not tags:
        raise RuntimeError(f"no version tag on origin/{branch}: the pipeline did not tag it")
    # A stable commit may also carry the beta's tag; the newest tag is the pipeline's.
    return sorted(tags, key=lambda t: ("-" not in t, t))[-1]


def hotfix(ctx: DemoContext) -> None:
    """Hotfix, beta and stable pipelines. Quinn (on call) fixes notification-service in production: `hotfix
    start` branches from main, the fix's push builds the next patch's beta (notification-service alone), Sam
    and Riley approve it through uat and preprod, `hotfix finish` releases it on main, where the stable
    pipeline retags the beta's digests. Production needs two people: Quinn wrote the fix, so Sam and Riley."""
    act_as(ctx, "quinn")
    ctx.shipyard("hotfix", "start", "notification-retry")
    branch = "hotfix/notification-retry"
    ctx.git("switch", "--quiet", branch)
    ctx.console.print(
        f"[dim]GitHub also sends the push that created {branch}; it would build a beta of main's unchanged "
        "tree (as release start's did above), so the story delivers the fix's push only.[/]"
    )
    app = ctx.repo / "services" / "notification-service" / "src" / "app.py"
    app.write_text(app.read_text(encoding="utf-8") + "\n# Deliveries are retried three times before they fail.\n")
    ctx.git("commit", "--quiet", "-am", "fix(notification-service): retry failed deliveries")
    deliver(ctx, "push", push(ctx, branch), "hotfix-beta")
    beta = _tag_of(ctx, branch)
    ctx.facts["hotfix.beta"] = beta
    ctx.shipyard("promote", "--version", beta, "--to", "uat", "--approve", "--approver", "sam")
    ctx.shipyard("promote", "--version", beta, "--to", "preprod", "--approve", "--approver", "riley")
    act_as(ctx, "riley")
    before = remote_head(ctx, "main")
    ctx.shipyard("hotfix", "finish", "--branch", branch)
    ctx.git("fetch", "--quiet", "origin")
    ctx.git("switch", "--quiet", "-C", "main", "origin/main")
    deliver(ctx, "push", pushed(ctx, "main", before), "hotfix-stable")
    stable = _tag_of(ctx, "main")
    ctx.facts["hotfix"] = stable
    ctx.shipyard("promote", "--version", stable, "--to", "production", "--approve", "--approver", "sam", expect=1)
    ctx.shipyard("promote", "--version", stable, "--to", "production", "--approve", "--approver", "quinn", expect=1)
    ctx.shipyard("promote", "--version", stable, "--to", "production", "--approve", "--approver", "riley")


def rollback(ctx: DemoContext) -> None:
    """Rollback and trace. The hotfix misbehaves: production returns to the release as a new commit in the
    config repo (history is never rewritten). Trace follows user-service through every environment: in
    production the release's commit, whose history holds the pull request's merge, and the release's pull
    requests (its alphas named them); in dev and staging the alpha built from that merge, which names it."""
    ctx.shipyard("rollback", "--env", "production", "--approver", "sam")
    trace = json.loads(ctx.shipyard("trace", "user-service", "--json"))
    ctx.facts["trace"] = trace
    ctx.shipyard("trace", "user-service")
    ctx.git("--no-pager", "log", "--oneline", "--merges", "--first-parent", "-3", _production_commit(trace))
    ctx.shipyard("status")
