"""Plans: what a command will change, as data. ``--dry-run`` prints one; the executor applies it."""

from shipyard.plan.model import Action, Op, Plan, apply_plan

__all__ = ["Action", "Op", "Plan", "apply_plan"]
