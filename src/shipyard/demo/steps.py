"""The demo's steps, in order: one release cycle, each step naming the part of the platform it shows."""

from __future__ import annotations

from collections.abc import Callable

from shipyard.demo import platform, sandbox, story
from shipyard.demo.context import DemoContext

Step = tuple[str, Callable[[DemoContext], None]]

STEPS: list[Step] = [
    ("The platform, a registry and the stand-ins", platform.scaffold),
    ("Pipelines rendered, the remote, base images", platform.pipelines),
    ("develop's first push: an alpha of every service", story.first_alpha),
    ("A pull request opened", story.open_pull_request),
    ("The pull request merged into develop", story.merge),
    ("release start: beta.1", story.release_start),
    ("A fix on the release branch: beta.2", story.release_fix),
    ("release finish: the stable version", story.release_finish),
    ("Production", story.production),
    ("A hotfix", story.hotfix),
    ("Roll back production; trace it", story.rollback),
    ("Sandbox database: a masked clone", sandbox.clone_database),
    ("Sandbox: mirror production with a TTL", sandbox.sync_sandbox),
    ("Preview clean-up", story.preview_cleanup),
]
