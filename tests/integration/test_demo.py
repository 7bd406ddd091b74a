"""``shipyard demo`` end to end: one release cycle driven by webhook events through ``ci run``, and the facts
of its story checked against git, the registry and the config repo.

Real parts: git, Debian's docker-registry, buildah (vfs, chroot), PostgreSQL (the sandbox clone, skipped by the
demo itself without it), Shipyard. Stand-ins, as the demo says on screen: GitHub's API (the demo's own, in
shipyard.demo.parts.github) and Trivy (a recorded report), neither of which can run here.
"""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from shipyard.demo.context import DemoContext
from shipyard.demo.run import run_steps
from shipyard.git import Git
from tests.realparts import need_binary

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("demo")]


def _where(trace: dict[str, Any], env: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [e for e in trace["environments"] if e["env"] == env]
    assert len(found) == 1, found
    return found[0]


def test_the_demo_is_one_release_cycle_whose_facts_come_from_git_and_the_builds(tmp_path: Path) -> None:
    need_binary("buildah", "install Debian's buildah (deps/apt-runtime.txt)")
    need_binary("docker-registry", "install Debian's docker-registry (deps/apt-runtime.txt)")
    out = io.StringIO()
    ctx = DemoContext(scratch=tmp_path, console=Console(file=out, width=120))
    assert run_steps(ctx), out.getvalue()[-6000:]
    screen = out.getvalue()
    facts = ctx.facts
    app = Git(ctx.repo)
    # The pull request's number is the one GitHub's API (the stand-in) gave; the PR's image was built and pushed.
    number = facts["pr"]
    assert isinstance(number, int)
    assert str(facts["pr.digest"]).startswith("sha256:")
    assert f"Merge pull request #{number} " in app.run("log", "--format=%s", "origin/develop")
    # Versions come from git: the stable in production is the version git gives main's release commit, and
    # every version the story used is a tag the pipelines pushed.
    stable = facts["stable"]
    assert stable == facts["stable.git"] and re.fullmatch(r"v\d+\.\d+\.\d+", str(stable))
    tags = app.run("ls-remote", "--tags", "origin").split()
    for key in ("alpha", "beta.1", "beta.2", "stable", "hotfix.beta", "hotfix"):
        assert f"refs/tags/{facts[key]}" in tags, key
    assert facts["beta.1"] == f"{stable}-beta.1" and facts["beta.2"] == f"{stable}-beta.2"
    # After the rollback production runs the release again, with the digests buildah built for beta.2 (the
    # stable pipeline retagged them, it did not rebuild).
    trace = facts["trace"]
    assert isinstance(trace, dict)
    production = _where(trace, "production")
    assert production["version"] == stable and production["rollback"] is True
    beta_digests = facts["beta.2.digests"]
    assert isinstance(beta_digests, dict)
    assert production["digest"] == beta_digests["user-service"]
    # Trace leads from production back to the pull request: its source commit's history holds the PR's merge,
    # and the alpha built from that merge names the PR.
    history = app.run("log", "--format=%s", production["sourceCommit"])
    assert f"Merge pull request #{number} " in history
    assert _where(trace, "staging")["pr"] == str(number)
    assert production["pr"] is None and production["releasePrs"] == [str(number)]
    # The stand-ins said so on screen; the PR comment went through the GitHub client to the stand-in.
    assert "stand-in: GitHub's REST API" in screen and "stand-in: Trivy" in screen
    assert f"PR #{number}'s Shipyard comment" in screen and "Vulnerability gate passed" in screen


def test_the_demo_code_holds_no_version_digest_or_pull_request_number() -> None:
    demo = Path(__file__).resolve().parents[2] / "src" / "shipyard" / "demo"
    source = "\n".join(p.read_text() for p in demo.rglob("*.py"))
    assert not re.search(r"v\d+\.\d+\.\d+", source)
    assert not re.search(r"sha256:[0-9a-f]{6}", source)
    assert not re.search(r"--pr\"?, \"?\d|pull/\d|#\d", source)
    out = subprocess.run(["git", "grep", "-n", "pr-[0-9]", "--", str(demo)], capture_output=True, text=True)
    assert out.stdout == ""
