"""The local executor and Kargo agree on which freight each stage may take.

The Kargo Warehouses and Stages are the ones ``render`` writes; the replay in ``tests/promotion_kargo.py``
applies Kargo's tag selection (allowTagsRegexes, SemVer constraint and ordering) and requestedFreight
sources to the registry tags the executor's freight leaves behind (version tags plus every moving alias)
and to its promotion history. The executor's answer is ``shipyard.promotion.gates.eligible``.

The stable-tag condition of production and approvals are not freight eligibility: the first is a step of
production's promotion (``tests/unit/test_promotion_kargo_stable.py``), the second a promotion policy,
compared separately below. Which versions become freight at all, one version per freight, is in
``tests/unit/test_promotion_kargo_freight.py``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipyard.k8s.yaml import load_all
from shipyard.promotion.gates import eligible
from shipyard.promotion.ledger import Entry, Ledger
from shipyard.render.kargo import LANES, render_kargo
from shipyard.spec.loader import load_spec
from shipyard.spec.model import Platform
from shipyard.stages.graph import StageGraph, build_graph
from shipyard.versioning.aliases import image_tags
from shipyard.versioning.semver import Version
from shipyard.workspace.discovery import discover
from tests.promotion_kargo import newest, stage_eligible, warehouse_freight


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Platform, StageGraph, dict[str, dict[str, Any]]]:
    from shipyard.scaffold.init import InitOptions, init

    root = tmp_path_factory.mktemp("kargo") / "acme"
    init(InitOptions(directory=root, org="acme", domain="acme.example.com"))
    platform = load_spec(root / "shipyard.yaml")
    files = render_kargo(platform, discover(root))
    objects: dict[str, dict[str, Any]] = {}
    for path, text in files.items():
        if path.startswith(("kargo/warehouses/", "kargo/stages/", "kargo/project")):
            for document in load_all(text):
                objects[f"{document['kind']}/{document['metadata']['name']}"] = document
    return platform, build_graph(platform), objects


SERVICES = ("user-service", "payment-service", "notification-service")

record = st.tuples(
    st.just("record"),
    st.sampled_from(["alpha", "beta", "beta", "stable"]),
    st.integers(0, 3),
    st.integers(0, 2),
    st.integers(1, 40),
    st.sets(st.sampled_from(SERVICES), min_size=1),
)
move = st.tuples(st.just("promote"), st.integers(0, 4), st.integers(0, 50))


def _version(maturity: str, minor: int, patch: int, number: int) -> str:
    if maturity == "alpha":
        return f"v1.{minor}.{patch}-alpha.{20261101000000 + number * 100}"
    if maturity == "beta":
        return f"v1.{minor}.{patch}-beta.{number}"
    return f"v1.{minor}.{patch}"


def _replay(graph: StageGraph, events: list[tuple[Any, ...]]) -> tuple[Ledger, dict[str, set[str]]]:
    """Run a history through the executor's own decisions; return its ledger and the services of each version."""
    ledger = Ledger()
    services_of: dict[str, set[str]] = {}
    for n, event in enumerate(events):
        if event[0] == "record":
            _, maturity, minor, patch, number, services = event
            version = _version(maturity, minor, patch, number)
            if version in services_of:
                continue  # versions never move
            services_of[version] = set(services)
            images = tuple((s, f"sha256:{n:064x}") for s in sorted(services))
            ledger.entries.append(Entry(f"c{n}", "t", "", "", "freight", f"f-{version}", version, images=images))
            continue
        _, stage_index, pick = event
        node = graph.stages[stage_index % len(graph.stages)]
        candidates = eligible(graph, ledger, node.name)
        if candidates:
            chosen = candidates[pick % len(candidates)]
            moved = Entry(f"c{n}", "t", "", "", "promotion", chosen.freight, chosen.version, node.name)
            ledger.entries.append(dataclasses.replace(moved, images=chosen.images))
    return ledger, services_of


def _registry_tags(platform: Platform, ledger: Ledger, services_of: dict[str, set[str]]) -> dict[str, set[str]]:
    """Every tag the platform's images carry: version tags, their moving aliases, PR tags, and the stable
    tag added to the digests that passed preprod (what the production rule needs)."""
    tags: dict[str, set[str]] = {}
    published: list[Version] = []
    for version in sorted(services_of, key=Version.parse):
        parsed = Version.parse(version)
        for service in services_of[version]:
            repo = tags.setdefault(platform.registry.image(service), set())
            repo.update(image_tags(parsed, published))
            repo.add("pr-12-abc1234")
        published.append(parsed)
    for entry in ledger.moves("preprod"):
        parsed = Version.parse(entry.version)
        stable = Version(parsed.major, parsed.minor, parsed.patch)
        for service in services_of[entry.version]:
            tags[platform.registry.image(service)].update(image_tags(stable, published))
    return tags


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(st.one_of(record, move, move), max_size=40))
def test_every_stage_takes_the_same_freight_as_kargo(
    rendered: tuple[Platform, StageGraph, dict[str, dict[str, Any]]], events: list[tuple[Any, ...]]
) -> None:
    platform, graph, objects = rendered
    ledger, services_of = _replay(graph, events)
    tags = _registry_tags(platform, ledger, services_of)
    kargo_freight = set()
    for key, warehouse in objects.items():
        if key.startswith("Warehouse/"):
            kargo_freight |= warehouse_freight(warehouse, tags)
    verified = {stage: {e.version for e in ledger.moves(stage)} for stage in ledger.stages()}
    for node in graph.stages:
        kargo = {f.version for f in stage_eligible(objects[f"Stage/{node.name}"], kargo_freight, verified)}
        executor = {r.version for r in eligible(graph, ledger, node.name)}
        assert executor == kargo, node.name


def test_auto_promotion_policies_match_the_auto_stages(
    rendered: tuple[Platform, StageGraph, dict[str, dict[str, Any]]],
) -> None:
    _, graph, objects = rendered
    config = next(o for key, o in objects.items() if key.startswith("ProjectConfig/"))
    policies = {p["stageSelector"]["name"]: p["autoPromotionEnabled"] for p in config["spec"]["promotionPolicies"]}
    assert policies == {node.name: node.auto for node in graph.stages}
    assert set(policies) == {"dev", "staging", "uat", "preprod", "production"}


def test_the_newest_selected_tag_is_the_executors_newest_freight(
    rendered: tuple[Platform, StageGraph, dict[str, dict[str, Any]]],
) -> None:
    platform, _, objects = rendered
    image = platform.registry.image("user-service")
    tags = {
        "v1.2.0-alpha.20261101120000",
        "v1.10.0-alpha.20261101090000",  # SemVer, not lexical: 1.10 > 1.2
        "v1.2.0-alpha.1",  # not a Shipyard alpha: no 14-digit timestamp
        "alpha",
        "latest-alpha",
        "v1.2.0-beta.3",
        "v1.2.0",
        "pr-7-abcdef0",
    }

    def subscription(warehouse: str) -> dict[str, Any]:
        found = objects[f"Warehouse/{warehouse}"]["spec"]["subscriptions"]
        return next(s["image"] for s in found if s["image"]["repoURL"] == image)

    alpha, beta, hotfix = subscription("alpha"), subscription("beta"), subscription("hotfix")
    assert newest(alpha, tags) == "v1.10.0-alpha.20261101090000"
    assert newest(beta, tags | {"v1.2.0-beta.10"}) == "v1.2.0-beta.10"
    assert newest(beta, tags | {"v1.3.0-beta.2", "v1.2.1-beta.1"}) == "v1.3.0-beta.2"
    assert newest(hotfix, tags | {"v1.3.0-beta.2", "v1.2.1-beta.1"}) == "v1.2.1-beta.1"


def test_rendered_stages_follow_the_stage_graph(
    rendered: tuple[Platform, StageGraph, dict[str, dict[str, Any]]],
) -> None:
    _, graph, objects = rendered
    for node in graph.stages:
        requests = objects[f"Stage/{node.name}"]["spec"]["requestedFreight"]
        # Beta stages take release and patch betas: two Warehouses of the stage's maturity.
        assert [r["origin"]["name"] for r in requests] == [lane.name for lane in LANES[node.origin]]
        expected = {"direct": True} if node.upstream is None else {"stages": [node.upstream]}
        assert all(r["sources"] == expected for r in requests)
    warehouses = sorted(key.removeprefix("Warehouse/") for key in objects if key.startswith("Warehouse/"))
    assert warehouses == ["alpha", "beta", "hotfix"]  # no stable Warehouse: no Stage takes stable freight


def test_replay_rejects_what_kargo_would() -> None:
    from tests.promotion_kargo import satisfies

    assert satisfies(Version.parse("v1.2.0-beta.1"), ">=0.0.0-0")
    assert not satisfies(Version.parse("v1.2.0-beta.1"), ">=0.0.0")  # prereleases need a prerelease bound
    assert satisfies(Version.parse("v1.2.0"), ">=1.0.0, <2.0.0")
    assert not satisfies(Version.parse("v2.0.0"), ">=1.0.0 <2.0.0")
    assert satisfies(Version.parse("v3.0.0"), "<2.0.0 || >=3.0.0")
