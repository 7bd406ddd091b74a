"""The stage graph's rules are spec rules: a bad graph is refused when ``shipyard.yaml`` loads, at the line
and field the user wrote, and any spec the loader accepts gives a stage graph."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from shipyard.errors import SpecError
from shipyard.spec.loader import parse_spec
from shipyard.spec.model import merge_environments
from shipyard.stages import build_graph

MINIMAL = """\
apiVersion: shipyard.dev/v1alpha1
kind: Platform
org: acme
domain: acme.example.com
registry:
  url: harbor.acme.example.com
environments:
"""


def problems(entries: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(MINIMAL + entries, "shipyard.yaml")
    return [str(p) for p in info.value.problems]


def test_a_two_cycle_is_named_at_both_upstreams() -> None:
    found = problems("  - name: dev\n    upstream: staging\n  - name: staging\n    upstream: dev\n")
    cycle = "upstreams go round in a cycle: dev -> staging -> dev; remove one of them"
    assert found == [
        f"shipyard.yaml:9:5: environments[0].upstream: {cycle}",
        f"shipyard.yaml:11:5: environments[1].upstream: {cycle}",
    ]


def test_a_cycle_through_defaults_is_named_where_the_user_closed_it() -> None:
    # preprod's upstream is uat and production's is preprod by default: only uat's upstream is in the file.
    assert problems("  - name: uat\n    upstream: production\n") == [
        "shipyard.yaml:9:5: environments[0].upstream: upstreams go round in a cycle: "
        "uat -> production -> preprod -> uat; remove one of them"
    ]


def test_a_three_cycle_of_new_environments() -> None:
    found = problems(
        "  - {name: qa, upstream: perf}\n  - {name: perf, upstream: load}\n  - {name: load, upstream: qa}\n"
    )
    cycle = "upstreams go round in a cycle: qa -> perf -> load -> qa; remove one of them"
    assert found == [
        f"shipyard.yaml:8:16: environments[0].upstream: {cycle}",
        f"shipyard.yaml:9:18: environments[1].upstream: {cycle}",
        f"shipyard.yaml:10:18: environments[2].upstream: {cycle}",
    ]


def test_an_environment_cannot_be_its_own_upstream() -> None:
    assert problems("  - name: qa\n    promotion: manual\n    upstream: qa\n") == [
        "shipyard.yaml:10:5: environments[0].upstream: environment 'qa' is its own upstream; "
        "name another environment, or none"
    ]


def test_a_mirror_cannot_mirror_itself_either() -> None:
    (found,) = problems("  - name: sandbox\n    upstream: sandbox\n")
    assert found.startswith("shipyard.yaml:9:5: environments[0].upstream: environment 'sandbox' is its own upstream")


def test_maturities_that_cannot_take_the_upstreams_freight_name_the_upstream_field() -> None:
    assert problems("  - name: uat\n    upstream: staging\n") == [
        "shipyard.yaml:9:5: environments[0].upstream: environment 'uat' accepts beta but its upstream 'staging' "
        "holds alpha freight (it enters at 'dev'); accept alpha or stable, or drop the upstream"
    ]


def test_a_mismatch_caused_upstream_is_named_where_the_user_changed_it() -> None:
    # staging (a default: alpha, upstream dev) no longer fits once dev accepts beta.
    assert problems("  - name: dev\n    maturities: [beta]\n") == [
        "shipyard.yaml:9:5: environments[0].maturities: environment 'staging' accepts alpha but its upstream 'dev' "
        "holds beta freight (it enters at 'dev'); accept beta or stable, or drop the upstream"
    ]


def test_a_stage_accepts_at_least_one_maturity() -> None:
    assert problems("  - name: qa\n    maturities: []\n") == [
        "shipyard.yaml:9:5: environments[0].maturities: environment 'qa' accepts no maturity; "
        "valid: alpha, beta, stable"
    ]


def test_a_stage_takes_freight_from_a_stage_not_from_a_mirror() -> None:
    assert problems("  - name: qa\n    upstream: sandbox\n") == [
        "shipyard.yaml:9:5: environments[0].upstream: upstream 'sandbox' is mirrored (promotion: mirror), so it "
        "has no freight to pass on; valid: dev, staging, uat, preprod, production"
    ]


def test_a_stage_of_stable_versions_may_take_beta_freight() -> None:
    # Production's rule: the beta freight that passed preprod, once its digests carry the stable tag.
    platform = parse_spec(MINIMAL + "  - {name: hotfix-prod, upstream: preprod, maturities: [stable]}\n")
    node = build_graph(platform).stage("hotfix-prod")
    assert (node.origin.value, node.upstream, node.requires_stable_tag) == ("beta", "preprod", True)


# Any spec: environments built from a few names (the seed's, which merge into the defaults, and new ones).
NAMES = ["dev", "staging", "uat", "preprod", "production", "sandbox", "qa", "perf"]
entry = st.fixed_dictionaries(
    {"name": st.sampled_from(NAMES)},
    optional={
        "upstream": st.one_of(st.none(), st.sampled_from(NAMES)),
        "promotion": st.sampled_from(["auto", "manual", "mirror"]),
        "maturities": st.lists(st.sampled_from(["alpha", "beta", "stable"]), unique=True, max_size=3),
    },
)
entries = st.lists(entry, max_size=6, unique_by=lambda e: str(e["name"]))


def acceptable(environments: list[dict[str, Any]]) -> bool:
    """The stage graph's rules, said once more, plainly and recursively, over the merged environments."""
    by_name = {env["name"]: env for env in environments}
    promoted = {name for name, env in by_name.items() if env.get("promotion", "manual") != "mirror"}

    def upstream(name: str) -> str | None:
        value = by_name[name].get("upstream")
        return None if value is None else str(value)

    for name in by_name:  # every upstream is known, and no chain goes round
        seen: list[str] = []
        current: str | None = name
        while current is not None:
            if current not in by_name or current in seen:
                return False
            seen.append(current)
            current = upstream(current)

    def origin(name: str) -> str | None:
        accepts = by_name[name].get("maturities", ["alpha"])
        above = upstream(name)
        if not accepts:
            return None
        if above is None:
            return str(accepts[0])
        if above not in promoted:
            return None
        held = origin(above)
        return held if held is not None and (held in accepts or "stable" in accepts) else None

    return all(origin(name) is not None for name in promoted)


@settings(max_examples=300, deadline=None)
@given(entries)
# The sandbox's database defaults to the URL of the environment named sandbox, here a mirror's source.
@example(
    [
        {"name": "sandbox", "upstream": None, "promotion": "auto"},
        {"name": "dev", "promotion": "mirror", "upstream": "sandbox"},
    ]
)
def test_a_spec_the_loader_accepts_gives_a_stage_graph(given_entries: list[dict[str, Any]]) -> None:
    data = {"org": "acme", "domain": "acme.example.com", "registry": {"url": "h"}, "environments": given_entries}
    text = yaml.safe_dump(data, sort_keys=False)
    merged = merge_environments(data)
    assert merged is not None
    try:
        platform = parse_spec(text, "shipyard.yaml")
    except SpecError as exc:
        # A database URL that may be a mirror's source is the sandbox guard's refusal, not the stage graph's.
        if any(not problem.field.endswith("database.url") for problem in exc.problems):
            assert not acceptable(merged), exc
        for problem in exc.problems:
            assert problem.location.line is not None and problem.field.startswith(("environments", "sandbox.")), problem
        return
    assert acceptable(merged)
    graph = build_graph(platform)
    placed: set[str] = set()
    for node in graph.stages:  # every stage after its upstream, every origin a Warehouse
        assert node.upstream is None or node.upstream in placed
        assert node.origin in graph.warehouses
        placed.add(node.name)
    assert placed == {e.name for e in platform.environments if e.promotion.value != "mirror"}
