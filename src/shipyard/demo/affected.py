"""Demo step of affected projects: a feature branch changes a shared package."""

from __future__ import annotations

from shipyard.demo.context import DemoContext
from shipyard.git import Git


def affected(ctx: DemoContext) -> None:
    """A change to packages/common-types on a feature branch, and every project it affects, with why."""
    git = Git(ctx.repo)
    started_on = git.current_branch() or git.rev_parse("HEAD")
    git.run("checkout", "--quiet", "-b", "feature/common-types-currency", "develop")
    try:
        source = ctx.repo / "packages" / "common-types" / "src" / "index.ts"
        source.write_text(source.read_text(encoding="utf-8") + "\nexport type Currency = 'EUR' | 'USD';\n")
        git.commit("Add a currency type to common-types")
        ctx.shipyard("affected", "--base", "develop", "--explain")
        ctx.shipyard("affected", "--base", "develop", "--format", "matrix")
    finally:
        git.run("checkout", "--quiet", started_on)
