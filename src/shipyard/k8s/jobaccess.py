"""Which Kubernetes API calls each Shipyard command makes when it runs in a pod: one table that render turns into
the jobs' Roles (and nothing more) and that ``shipyard validate`` checks the rendered RBAC against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Scope = Literal["cluster", "own", "sandbox"]
"""Where a call acts: cluster-wide, the pod's own namespace, or the sandbox's namespace."""


@dataclass(frozen=True)
class Call:
    """Verbs on one resource of one API group, in one scope (optionally only on named objects)."""

    group: str
    resource: str
    verbs: tuple[str, ...]
    scope: Scope
    names: tuple[str, ...] = ()


# Every command is matched by the first words of its arguments and the flags that make it call the API.
CALLS: tuple[tuple[tuple[str, ...], str | None, tuple[Call, ...]], ...] = (
    (
        ("preview", "gc"),
        "--cluster",
        (Call("", "namespaces", ("list", "delete"), "cluster"),),
    ),
    (
        ("preview", "db-secret"),
        None,
        (Call("", "secrets", ("get", "create"), "own"),),
    ),
    (
        ("sandbox", "reset"),
        "--cluster",
        (
            # Restart the sandbox's workloads (what `kubectl rollout restart` patches, and Argo Rollouts' restartAt).
            Call("apps", "deployments", ("list", "patch"), "sandbox"),
            Call("argoproj.io", "rollouts", ("list", "patch"), "sandbox"),
        ),
    ),
    (
        ("sandbox", "reset"),
        "--database-job",
        # Start the suspended database job from its CronJob (what `kubectl create job --from` does).
        (Call("batch", "cronjobs", ("get",), "own"), Call("batch", "jobs", ("create",), "own")),
    ),
)


def calls_of(args: list[str]) -> tuple[Call, ...]:
    """The API calls a ``shipyard`` command with these arguments makes (none for most commands)."""
    found: list[Call] = []
    for words, flag, calls in CALLS:
        if tuple(args[: len(words)]) == words and (flag is None or flag in args):
            found += calls
    return tuple(found)
