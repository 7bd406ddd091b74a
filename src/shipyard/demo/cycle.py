"""The state the story's steps share: the real registry and the stand-ins, the shared remote, the pipelines'
Secret workspaces, and the way a change reaches CI (a webhook body, run by ``shipyard ci run``)."""

from __future__ import annotations

import json
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.ci.events import ZERO, Repository, local_repository, pull_request_event, push_event
from shipyard.demo.context import DemoContext
from shipyard.demo.parts.github import GitHubStandIn
from shipyard.demo.parts.registry import RegistryServer
from shipyard.git import Git
from shipyard.github.client import GitHubClient
from shipyard.registry.client import RemoteRegistry

REPO = "acme/monorepo"  # the repository's name on GitHub, as webhooks and the PR comment name it


@dataclass
class Cycle:
    """Everything the story's steps share; ``ctx.facts["cycle"]`` holds it."""

    registry: RegistryServer
    github: GitHubStandIn
    token: str
    remote: Path
    config: Path
    secrets: dict[str, Path]
    runs: Path

    @property
    def repository(self) -> Repository:
        """The monorepo as a webhook names it: GitHub's name, cloned from the shared remote here."""
        return local_repository(self.remote, REPO)

    def image(self, service: str) -> str:
        """The repository of a service's images in the registry."""
        return f"{self.registry.host}/services/{service}"

    def digest(self, service: str, tag: str) -> str | None:
        """The digest ``tag`` of ``service`` names in the registry, or None."""
        client = RemoteRegistry(self.registry.host)
        try:
            return client.head_manifest(f"services/{service}", tag)
        finally:
            client.close()

    def open_pull(self, ctx: DemoContext, title: str, head: str, base: str) -> int:
        """Open a pull request through GitHub's API (here, the stand-in); GitHub gives it its number."""
        client = GitHubClient(token=self.token, api_url=self.github.url)
        try:
            reply = client.request("POST", f"/repos/{REPO}/pulls", {"title": title, "head": head, "base": base})
        finally:
            client.close()
        number = int(reply.data["number"])
        ctx.console.print(f"GitHub (stand-in) opened pull request [bold]#{number}[/]: {title}")
        return number


def cycle_of(ctx: DemoContext) -> Cycle:
    """The story's shared state, set by the first step."""
    found = ctx.facts.get("cycle")
    if not isinstance(found, Cycle):
        raise RuntimeError("the platform step has not run")
    return found


def new_token() -> str:
    """A token the GitHub stand-in accepts, new for every demo (it reaches the pipelines as a Secret)."""
    return "ghp_demo" + secrets.token_hex(16)


def push(ctx: DemoContext, branch: str) -> dict[str, Any]:
    """``git push`` ``branch`` to the shared remote; the push event GitHub would send for it."""
    target = f"refs/heads/{branch}"
    before = remote_head(ctx, branch)
    ctx.git("push", "--quiet", "origin", f"{branch}:{target}")
    return pushed(ctx, branch, before)


def remote_head(ctx: DemoContext, branch: str) -> str:
    """The commit ``branch`` is at on the shared remote (ZERO when it has no such branch)."""
    out = Git(cycle_of(ctx).remote).run("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False)
    return out.strip() or ZERO


def pushed(ctx: DemoContext, branch: str, before: str) -> dict[str, Any]:
    """The push event of ``branch`` moved from ``before`` (ZERO: created) to its head on the shared remote, by
    a command that pushed it (``release start``, ``release finish``)."""
    cycle = cycle_of(ctx)
    remote = Git(cycle.remote)
    return push_event(remote, cycle.repository, f"refs/heads/{branch}", before, remote_head(ctx, branch))


def pull_request(ctx: DemoContext, action: str, number: int, branch: str, base: str) -> dict[str, Any]:
    """The pull_request event of ``action`` on pull request ``number`` from ``branch`` into ``base``."""
    cycle = cycle_of(ctx)
    head = ctx.git("rev-parse", branch, show=False)
    merged = action == "closed" and bool(cycle.github.pulls[(REPO, number)]["merged"])
    return pull_request_event(cycle.repository, action, number, head, branch, base, merged=merged)


def deliver(ctx: DemoContext, event: str, body: dict[str, Any], name: str) -> None:
    """Deliver a webhook body to ``shipyard ci run``: the triggers pick the pipelines, which run here."""
    cycle = cycle_of(ctx)
    path = cycle.runs / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=2), encoding="utf-8")
    workspaces = [arg for ws, folder in sorted(cycle.secrets.items()) for arg in ("--workspace", f"{ws}={folder}")]
    ctx.stream("ci", "run", str(path), "--event-type", event, "--workdir", str(cycle.runs / name), *workspaces)


def version_of(ctx: DemoContext, ref: str) -> dict[str, Any]:
    """What git says of ``ref``'s version (``shipyard version --json``), shown on screen."""
    data: dict[str, Any] = json.loads(ctx.shipyard("version", "--ref", ref, "--json"))
    return data


def python_path() -> str:
    """The folder of this Python: the pipeline steps run ``shipyard`` from it."""
    return str(Path(sys.executable).parent)
