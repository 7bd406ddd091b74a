"""The stage graph derived from the spec: the one model Kargo's render and the local executor share."""

from __future__ import annotations

import pytest

from shipyard.errors import ShipyardError
from shipyard.spec.model import Maturity, Platform
from shipyard.stages import build_graph


def _platform(**extra: object) -> Platform:
    return Platform.model_validate({"org": "acme", "domain": "acme.example.com", "registry": {"url": "h"}, **extra})


def test_the_seed_graph() -> None:
    graph = build_graph(_platform())
    rows = [(n.name, n.origin.value, n.upstream, n.auto, n.requires_stable_tag) for n in graph.stages]
    assert rows == [
        ("dev", "alpha", None, True, False),
        ("staging", "alpha", "dev", True, False),
        ("uat", "beta", None, False, False),
        ("preprod", "beta", "uat", False, False),
        ("production", "beta", "preprod", False, True),
    ]
    assert graph.warehouses == (Maturity.alpha, Maturity.beta, Maturity.stable)
    assert graph.mirrors == (("sandbox", "production"),)
    assert [n.name for n in graph.entry(Maturity.beta)] == ["uat"]
    assert [n.name for n in graph.downstream("preprod")] == ["production"]
    assert graph.stage("uat").direct


def test_an_unknown_stage_names_the_valid_ones() -> None:
    with pytest.raises(ShipyardError, match="valid: dev, staging, uat, preprod, production"):
        build_graph(_platform()).stage("sandbox")


def test_stages_come_after_their_upstream_whatever_the_spec_order() -> None:
    platform = _platform(
        environments=[
            {"name": "qa", "upstream": "staging", "promotion": "manual", "maturities": ["alpha"]},
        ]
    )
    names = [n.name for n in build_graph(platform).stages]
    assert names.index("qa") > names.index("staging") > names.index("dev")
