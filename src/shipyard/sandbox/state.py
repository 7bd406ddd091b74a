"""The sandbox's TTL state in the config repo: ``overlays/sandbox/sandbox-state.yaml``.

Why a file of its own: the overlay's top ``kustomization.yaml`` is the promotable state and holds only
``resources`` and ``images`` (the contract render and promotions rely on), and kustomize's
``commonAnnotations`` would stamp a new timestamp on every object, and every pod template, on each
sync. So the TTL lives in one small Shipyard-owned ConfigMap-shaped file whose annotations carry
``shipyard.dev/created-at``, ``shipyard.dev/expires-at``, ``shipyard.dev/ttl`` and
``shipyard.dev/mirrors``. It is git state, like everything else: the TTL check reads it from the repo,
so the answer does not depend on what happens to be running in the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shipyard.errors import ShipyardError
from shipyard.k8s.yaml import dump
from shipyard.times import add, format_rfc3339, parse_duration, parse_rfc3339

STATE_FILE = "sandbox-state.yaml"
PREFIX = "shipyard.dev/"
# The TTL check's period (the rendered ``sandbox-reset`` CronJob runs this often). A TTL ends at the check
# nearest to it: when less than half a period is left, so a reset never waits a whole period for a few
# seconds (the check runs a moment before the time the last one started), and never drifts by a period a day.
CHECK_EVERY = timedelta(minutes=5)


def _parse(text: str, field: str) -> datetime:
    try:
        return parse_rfc3339(text)
    except ValueError as exc:
        raise ShipyardError(f"{STATE_FILE}: {field}: {exc}") from None


@dataclass(frozen=True)
class SandboxState:
    """When the sandbox was (re)created, when it expires, and which production commit it mirrors."""

    namespace: str
    created_at: datetime
    ttl: str
    mirrors: str
    source: str = "production"

    @property
    def expires_at(self) -> datetime:
        """The moment the TTL runs out."""
        return add(self.created_at, parse_duration(self.ttl))

    def age(self, now: datetime) -> timedelta:
        """How long ago the sandbox was created."""
        return now - self.created_at

    def expired(self, now: datetime) -> bool:
        """True once the TTL has run out."""
        return now >= self.expires_at

    def due(self, now: datetime) -> bool:
        """True when the TTL check at ``now`` is the one nearest to the end of the TTL, or a later one."""
        return now + CHECK_EVERY / 2 > self.expires_at

    def to_yaml(self) -> str:
        """The state as a ConfigMap document (valid Kubernetes, should anyone choose to apply it)."""
        annotations = {
            f"{PREFIX}created-at": format_rfc3339(self.created_at),
            f"{PREFIX}expires-at": format_rfc3339(self.expires_at),
            f"{PREFIX}ttl": self.ttl,
            f"{PREFIX}mirrors": self.mirrors,
        }
        document = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "sandbox-state",
                "namespace": self.namespace,
                "labels": {"app.kubernetes.io/managed-by": "shipyard", f"{PREFIX}sandbox": "true"},
                "annotations": annotations,
            },
            "data": {"source": self.source, "mirrors": self.mirrors},
        }
        header = "# Written by `shipyard sandbox sync`: the sandbox's TTL and the production commit it mirrors.\n"
        return header + dump(document)

    @classmethod
    def from_yaml(cls, text: str) -> SandboxState:
        """Read the state file; ShipyardError naming the field when it is malformed."""
        from shipyard.bounded import InputError, load_yaml

        try:
            data: Any = load_yaml(text, STATE_FILE)
            metadata = data["metadata"]
            annotations = metadata["annotations"]
            created = _parse(str(annotations[f"{PREFIX}created-at"]), "created-at")
            ttl = str(annotations[f"{PREFIX}ttl"])
            add(created, parse_duration(ttl))  # a TTL that runs past the year 9999 is malformed too
            return cls(
                namespace=str(metadata["namespace"]),
                created_at=created,
                ttl=ttl,
                mirrors=str(annotations[f"{PREFIX}mirrors"]),
                source=str((data.get("data") or {}).get("source", "production")),
            )
        except (KeyError, TypeError, ValueError, InputError) as exc:
            raise ShipyardError(f"{STATE_FILE} is malformed ({exc}); `shipyard sandbox reset` rewrites it") from None
