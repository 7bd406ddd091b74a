"""The gates a freight passes before it enters a stage, all read from the stage graph.

1. maturity: the freight comes from the Warehouse the stage takes (alpha for dev and staging, beta for
   uat, preprod and production with the seed's defaults);
2. upstream: a stage with an upstream takes only freight that passed it (was promoted there);
3. stable tag: a stage that accepts only stable versions but is fed beta freight (production) takes it
   once every image digest also carries the release's stable tag (build once, promote by digest);
4. approval: a manual stage takes freight once the people its spec names have approved it (see
   ``promotion.approvals``, which counts the decisions recorded in the config repo).

Gates 1 and 2 decide which freight is *eligible* (what Kargo's ``requestedFreight`` expresses); 3 and
4 are checked when the promotion runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.errors import ShipyardError
from shipyard.promotion.ledger import Entry, Ledger
from shipyard.promotion.tags import TagLookup
from shipyard.stages.graph import StageGraph, StageNode
from shipyard.versioning.tags import parse_tag


@dataclass(frozen=True)
class Gate:
    """One gate's verdict."""

    name: str
    passed: bool
    reason: str

    def to_json(self) -> dict[str, object]:
        """The gate as JSON."""
        return {"gate": self.name, "passed": self.passed, "reason": self.reason}


class GateRefused(ShipyardError):
    """A gate said no: the promotion did not happen (exit 1, the "no" answer)."""

    exit_code = 1

    def __init__(self, stage: str, gates: list[Gate]) -> None:
        failed = [g for g in gates if not g.passed]
        super().__init__(f"promotion to {stage} refused: " + "; ".join(g.reason for g in failed))
        self.stage = stage
        self.gates = gates

    def to_json(self) -> dict[str, object]:
        """For JSON output: every gate, passed or not (documented in docs/promotion.md)."""
        return {"refused": True, "stage": self.stage, "gates": [g.to_json() for g in self.gates]}


def stable_tag(version: str, prefix: str) -> str:
    """The release's stable tag of a version: ``v1.2.0`` for ``v1.2.0-beta.3`` (``prefix`` is the
    platform's ``versioning.tag_prefix``, as the stable release tags its images)."""
    return f"{prefix}{parse_tag(version).base}"


def maturity_gate(node: StageNode, freight: str, version: str) -> Gate:
    """Does the stage take freight of this version's maturity (from its Warehouse)?"""
    maturity = parse_tag(version).maturity
    origin = node.origin.value
    if maturity == origin:
        return Gate("maturity", True, f"{node.name} takes {origin} freight; {version} is {maturity}")
    accepted = ", ".join(m.value for m in node.environment.maturities)
    detail = f" (it accepts {accepted} versions, fed by the {origin} Warehouse)" if accepted != origin else ""
    return Gate(
        "maturity", False, f"{node.name} takes {origin} freight{detail}; {version} ({freight[:12]}) is {maturity}"
    )


def upstream_gate(node: StageNode, ledger: Ledger, freight: str, version: str) -> Gate:
    """Did the freight pass the stage's upstream (or does the stage take it straight from the Warehouse)?"""
    if node.upstream is None:
        return Gate("upstream", True, f"{node.name} takes freight straight from the {node.origin.value} Warehouse")
    if ledger.passed(freight, node.upstream):
        return Gate("upstream", True, f"{version} ({freight[:12]}) passed {node.upstream}")
    return Gate(
        "upstream",
        False,
        f"{node.name} takes only freight that passed {node.upstream}; {version} ({freight[:12]}) has not been "
        f"promoted to {node.upstream}",
    )


def stable_tag_gate(
    node: StageNode, images: dict[str, tuple[str, str]], version: str, tags: TagLookup, prefix: str
) -> Gate:
    """For a stage fed beta freight that accepts only stable: every digest carries the release's stable tag.

    ``images`` maps service -> (repository, digest); ``prefix`` is the platform's tag prefix.
    """
    wanted = stable_tag(version, prefix)
    missing = []
    for service, (image, digest) in sorted(images.items()):
        if tags.digest_of(image, wanted) != digest:
            missing.append(f"{service} {digest[:19]}")
    if missing:
        return Gate(
            "stable-tag",
            False,
            f"{node.name} takes freight only once its digests carry the release's stable tag {wanted}; "
            f"not tagged {wanted}: {', '.join(missing)}",
        )
    return Gate("stable-tag", True, f"every digest carries {wanted}")


def eligible(graph: StageGraph, ledger: Ledger, stage: str) -> list[Entry]:
    """The recorded freight that may enter ``stage`` (gates 1 and 2), lowest version first."""
    node = graph.stage(stage)
    found = [
        record
        for record in ledger.recorded()
        if maturity_gate(node, record.freight, record.version).passed
        and upstream_gate(node, ledger, record.freight, record.version).passed
    ]
    return sorted(found, key=lambda r: parse_tag(r.version))


def pending(graph: StageGraph, ledger: Ledger, stage: str) -> Entry | None:
    """The newest eligible freight the stage never ran and that is newer than what it runs now."""
    held = ledger.held(stage)
    current = ledger.current(stage)
    floor = None
    if current is not None:
        record = next((r for r in ledger.recorded() if r.freight == current.freight), None)
        floor = parse_tag(record.version if record else current.version)
    candidates = [
        r
        for r in eligible(graph, ledger, stage)
        if r.freight not in held and (floor is None or parse_tag(r.version) > floor)
    ]
    return candidates[-1] if candidates else None
