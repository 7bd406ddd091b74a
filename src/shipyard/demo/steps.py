"""The demo's steps, in order. Each capability adds its steps here, so the demo always shows the whole
flow that works."""

from __future__ import annotations

from collections.abc import Callable

from shipyard.demo import foundation, render
from shipyard.demo.context import DemoContext

Step = tuple[str, Callable[[DemoContext], None]]

STEPS: list[Step] = [
    ("Scaffold a monorepo", foundation.scaffold),
    ("Validate the platform", foundation.check),
    ("Branch rules", foundation.branches),
    ("Render the GitOps config repo", render.render),
    ("Validate the config repo", render.validate),
]
