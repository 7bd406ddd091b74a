"""Demo steps of the previews: one environment per pull request, in the local config repo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shipyard.demo.context import DemoContext
from shipyard.git import Git
from shipyard.times import format_rfc3339


def lifecycle(ctx: DemoContext) -> None:
    """Open the preview of PR 42, list it, then clean up with the clock moved past its 7-day TTL. PR 43's
    preview, opened afterwards, stays for `shipyard serve` to show."""
    sha = Git(ctx.repo).rev_parse("HEAD")
    ctx.shipyard("preview", "up", "--pr", "42", "--sha", sha)
    ctx.shipyard("preview", "list")
    later = format_rfc3339(datetime.now(UTC) + timedelta(days=8))
    ctx.shipyard("preview", "gc", "--now", later, "--dry-run")
    ctx.shipyard("preview", "gc", "--now", later)
    ctx.shipyard("preview", "up", "--pr", "43", "--sha", sha)
    ctx.shipyard("preview", "list")
