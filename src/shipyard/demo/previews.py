"""Demo steps of the previews: one environment per pull request, in the local config repo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shipyard.demo.context import DemoContext
from shipyard.git import Git


def lifecycle(ctx: DemoContext) -> None:
    """Open the preview of PR 42, list it, then clean up with the clock moved past its 7-day TTL."""
    sha = Git(ctx.repo).rev_parse("HEAD")
    ctx.shipyard("preview", "up", "--pr", "42", "--sha", sha)
    ctx.shipyard("preview", "list")
    later = (datetime.now(UTC) + timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ctx.shipyard("preview", "gc", "--now", later, "--dry-run")
    ctx.shipyard("preview", "gc", "--now", later)
    ctx.shipyard("preview", "list")
