"""Freight of one version, on both paths.

The local executor records freight per version (``freight/<version>.yaml``: every service's digest tagged
with that version). On a cluster the rendered Warehouses make freight as tags reach the registry; the
replay in ``tests/promotion_kargo.py`` plays Kargo's discovery after every single push, so it sees the
middle of a release, when one service has the new version and the others not yet.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.k8s.yaml import load_all
from shipyard.promotion.gates import eligible
from shipyard.promotion.ledger import Entry, Ledger
from shipyard.render.kargo import render_kargo
from shipyard.spec.loader import load_spec
from shipyard.spec.model import Platform
from shipyard.stages.graph import build_graph
from shipyard.versioning.semver import Version
from shipyard.workspace.discovery import discover
from tests.promotion_kargo import DiscoveredFreight, KargoFreight, automatic_freight, stage_eligible

SERVICES = ("notification-service", "payment-service", "user-service")
BASE = "localhost/services/"


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    from shipyard.scaffold.init import InitOptions, init

    root = tmp_path_factory.mktemp("kargo") / "acme"
    init(InitOptions(directory=root, org="acme", domain="acme.example.com"))
    platform = load_spec(root / "shipyard.yaml")
    assert [platform.registry.image(s) for s in SERVICES] == [BASE + s for s in SERVICES]
    found: dict[str, dict[str, Any]] = {}
    for path, text in render_kargo(platform, discover(root)).items():
        if path.startswith(("kargo/warehouses/", "kargo/stages/")):
            for document in load_all(text):
                found[f"{document['kind']}/{document['metadata']['name']}"] = document
    return found


def pushes(*versions: str, order: tuple[str, ...] = SERVICES) -> list[tuple[str, str]]:
    """Each version tagged on every service, one service after another."""
    return [(BASE + service, version) for version in versions for service in order]


def made(objects: dict[str, dict[str, Any]], pushed: list[tuple[str, str]]) -> list[DiscoveredFreight]:
    return [f for k, w in objects.items() if k.startswith("Warehouse/") for f in automatic_freight(w, pushed)]


def test_mid_release_freight_holds_one_version(objects: dict[str, dict[str, Any]]) -> None:
    alpha1, alpha2 = "v1.3.0-alpha.20261101090000", "v1.3.0-alpha.20261102090000"
    history = pushes(alpha1, alpha2, order=("user-service", "payment-service", "notification-service"))
    freight = made(objects, history)
    assert [(f.origin, f.versions) for f in freight] == [("alpha", {alpha1}), ("alpha", {alpha2})]

    # Without the criteria Kargo pairs user-service's new alpha with the others' previous one, and that
    # mixed freight would be auto-promoted to dev: the check the criteria exist for.
    loose = copy.deepcopy(objects["Warehouse/alpha"])
    del loose["spec"]["freightCreationCriteria"]
    mixed = [f.versions for f in automatic_freight(loose, history) if len(f.versions) > 1]
    assert mixed == [{alpha1, alpha2}, {alpha1, alpha2}]


def test_a_hotfix_beta_of_an_older_line_becomes_freight_that_can_reach_uat(
    objects: dict[str, dict[str, Any]],
) -> None:
    history = pushes("v1.3.0-beta.1", "v1.3.0-beta.2", "v1.2.1-beta.1")
    freight = made(objects, history)
    assert [(f.origin, f.versions) for f in freight] == [
        ("beta", {"v1.3.0-beta.1"}),
        ("beta", {"v1.3.0-beta.2"}),
        ("hotfix", {"v1.2.1-beta.1"}),
    ]
    kargo = {KargoFreight(f.origin, next(iter(f.versions))) for f in freight}
    uat = {f.version for f in stage_eligible(objects["Stage/uat"], kargo, {})}
    assert uat == {"v1.3.0-beta.1", "v1.3.0-beta.2", "v1.2.1-beta.1"}

    # The local executor lets the same versions into uat once they are recorded.
    graph = build_graph(
        Platform.model_validate({"org": "acme", "domain": "acme.example.com", "registry": {"url": "h"}})
    )
    ledger = Ledger(
        [
            Entry(
                f"c{n}",
                "ci",
                "",
                "",
                "freight",
                f"f{n}",
                version,
                images=tuple((s, "sha256:" + "a" * 64) for s in SERVICES),
            )
            for n, version in enumerate(["v1.3.0-beta.1", "v1.3.0-beta.2", "v1.2.1-beta.1"])
        ]
    )
    assert {e.version for e in eligible(graph, ledger, "uat")} == uat


lines = st.lists(
    st.tuples(st.sampled_from(["alpha", "beta", "hotfix"]), st.permutations(SERVICES), st.integers(0, 2)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=80, deadline=None)
@given(lines)
def test_every_automatic_freight_is_one_version_and_the_newest_of_each_line_arrives(
    objects: dict[str, dict[str, Any]], events: list[tuple[str, tuple[str, ...], int]]
) -> None:
    """Versions grow along each line (develop's alphas, the release's betas, the hotfix's betas), each
    tagged on every service in any order, and a version's pushes may start before the previous one's end
    (two CI runs at once). Whatever the interleaving, Kargo's freight holds one version, and the newest
    version of each line that every service carries becomes freight."""
    counters = {"alpha": 0, "beta": 0, "hotfix": 0}
    history: list[tuple[str, str]] = []
    for line, order, overlap in events:
        counters[line] += 1
        n = counters[line]
        version = {
            "alpha": f"v1.4.0-alpha.{20261101000000 + n}",
            "beta": f"v1.3.0-beta.{n}",
            "hotfix": f"v1.2.1-beta.{n}",
        }[line]
        own = [(BASE + service, version) for service in order]
        # The first `overlap` pushes slip in among the previous version's last ones.
        cut = max(0, len(history) - overlap)
        history = history[:cut] + own[:overlap] + history[cut:] + own[overlap:]
    freight = made(objects, history)
    assert all(len(f.versions) == 1 for f in freight), [f.versions for f in freight]
    for line, warehouse in (("alpha", "alpha"), ("beta", "beta"), ("hotfix", "hotfix")):
        mine = [t for _, t in history if _line(t) == line]
        if mine:
            newest = max(mine, key=lambda t: Version.parse(t))
            assert any(f.origin == warehouse and f.versions == {newest} for f in freight), (line, newest)


def _line(tag: str) -> str:
    version = Version.parse(tag)
    if version.maturity == "alpha":
        return "alpha"
    return "beta" if version.patch == 0 else "hotfix"
