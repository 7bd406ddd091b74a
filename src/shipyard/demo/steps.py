"""The demo's steps, in order. Each capability adds its steps here, so the demo always shows the whole
flow that works."""

from __future__ import annotations

from collections.abc import Callable

from shipyard.demo import affected, ci, foundation, previews, promotion, registry, render, sandbox, versioning
from shipyard.demo.context import DemoContext

Step = tuple[str, Callable[[DemoContext], None]]

STEPS: list[Step] = [
    ("Scaffold a monorepo", foundation.scaffold),
    ("Validate the platform", foundation.check),
    ("Branch rules", foundation.branches),
    ("Affected projects of a change", affected.affected),
    ("Versions: a develop alpha", versioning.develop_alpha),
    ("Versions: a release branch's betas", versioning.release_beta),
    ("Versions: a stable on main", versioning.main_stable),
    ("Render the GitOps config repo", render.render),
    ("Validate the config repo", render.validate),
    ("Vulnerability gate", ci.scan_gate),
    ("Webhook -> pipelines", ci.ci_plan),
    ("Tekton pipelines and triggers", ci.tekton),
    ("Build service images with buildah (local OCI layout)", registry.build_images),
    ("Release images with aliases", registry.release_images),
    ("Alpha freight: dev and staging, automatically", promotion.alpha_cycle),
    ("Beta freight: uat and preprod, by approval", promotion.beta_cycle),
    ("The stable release to production", promotion.stable_cycle),
    ("A hotfix to production", promotion.hotfix_cycle),
    ("Roll back production", promotion.rollback),
    ("The status board", promotion.board),
    ("Sandbox database: a masked clone", sandbox.clone_database),
    ("Sandbox: mirror production with a TTL", sandbox.sync_sandbox),
    ("Preview environments", previews.lifecycle),
]
