"""The demo's steps, in order. Each capability adds its steps here, so the demo always shows the whole
flow that works."""

from __future__ import annotations

from collections.abc import Callable

from shipyard.demo import foundation, promotion
from shipyard.demo.context import DemoContext

Step = tuple[str, Callable[[DemoContext], None]]

STEPS: list[Step] = [
    ("Scaffold a monorepo", foundation.scaffold),
    ("Validate the platform", foundation.check),
    ("Branch rules", foundation.branches),
    ("Alpha freight: dev and staging, automatically", promotion.alpha_cycle),
    ("Beta freight: uat and preprod, by approval", promotion.beta_cycle),
    ("The stable release to production", promotion.stable_cycle),
    ("A hotfix to production", promotion.hotfix_cycle),
    ("Roll back production", promotion.rollback),
    ("The status board", promotion.board),
]
