"""The stage graph, derived once from the spec.

Every environment that is promoted to (``auto`` or ``manual``) is a stage. A stage with an upstream
stage takes the freight that upstream holds, so its freight keeps the origin of the stage where it
entered; a stage without one takes freight straight from the Warehouse of the maturity it accepts.
Mirrored environments (the sandbox) are not stages: they copy another environment's state.

With the seed's defaults this gives: alpha Warehouse -> dev (auto) -> staging (auto); beta Warehouse
-> uat (manual) -> preprod (manual) -> production (manual), where production accepts only stable
freight, so the beta freight that passed preprod goes there once its digests carry the release's
stable tag (``requires_stable_tag``). Kargo's render and the local promotion executor both read this.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.errors import ShipyardError
from shipyard.spec.model import Environment, Maturity, Platform, PromotionMode, stage_feeds


@dataclass(frozen=True)
class StageNode:
    """One stage: an environment freight is promoted into."""

    name: str
    environment: Environment
    origin: Maturity
    """The Warehouse (named by maturity) the stage's freight comes from."""
    upstream: str | None
    """The stage whose verified freight this one takes; None means straight from the Warehouse."""
    auto: bool
    requires_stable_tag: bool
    """Freight arrives here only once every image digest also carries the release's stable tag."""

    @property
    def direct(self) -> bool:
        """True when the stage takes freight straight from its Warehouse."""
        return self.upstream is None


@dataclass(frozen=True)
class StageGraph:
    """The stages in promotion order (every stage after its upstream) and the Warehouses they need."""

    stages: tuple[StageNode, ...]
    warehouses: tuple[Maturity, ...]
    mirrors: tuple[tuple[str, str], ...]
    """(environment, the environment it mirrors), e.g. ("sandbox", "production")."""

    def stage(self, name: str) -> StageNode:
        """The stage called ``name``; ShipyardError names the valid ones."""
        for node in self.stages:
            if node.name == name:
                return node
        raise ShipyardError(f"no stage '{name}'; valid: {', '.join(n.name for n in self.stages)}")

    def downstream(self, name: str) -> list[StageNode]:
        """The stages that take their freight from ``name``."""
        return [node for node in self.stages if node.upstream == name]

    def entry(self, maturity: Maturity) -> list[StageNode]:
        """The stages that take freight of ``maturity`` straight from its Warehouse."""
        return [node for node in self.stages if node.direct and node.origin is maturity]


def build_graph(platform: Platform) -> StageGraph:
    """Derive the stage graph from the spec's environments (their promotion modes, upstreams, maturities).

    The rules a graph must keep (no upstream cycle, maturities that take the upstream's freight, ...) are
    checked once, when the spec loads (``spec.model.stage_feeds``), so a loaded Platform always has a graph.
    """
    feeds, problems = stage_feeds(platform.environments)
    assert not problems, f"a validated Platform breaks the stage graph's rules: {problems}"
    nodes = [
        StageNode(
            name=env.name,
            environment=env,
            origin=feed.origin,
            upstream=feed.upstream,
            auto=env.promotion is PromotionMode.auto,
            requires_stable_tag=Maturity.stable in env.maturities and feed.origin is not Maturity.stable,
        )
        for env in platform.environments
        if (feed := feeds.get(env.name)) is not None
    ]
    # Stable order with every stage after its upstream: Warehouse (alpha, beta, stable), depth, spec order.
    position = {node.name: index for index, node in enumerate(nodes)}
    ordered = sorted(nodes, key=lambda n: (list(Maturity).index(n.origin), feeds[n.name].depth, position[n.name]))
    maturities = {m for node in ordered for m in (*node.environment.maturities, node.origin)}
    warehouses = tuple(m for m in Maturity if m in maturities)
    mirrors = tuple(
        (env.name, env.upstream)
        for env in platform.environments
        if env.promotion is PromotionMode.mirror and env.upstream is not None
    )
    return StageGraph(stages=tuple(ordered), warehouses=warehouses, mirrors=mirrors)
