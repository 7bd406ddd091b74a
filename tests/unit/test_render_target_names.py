"""The named render targets: selection by name, and the rules every target's files must keep."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from shipyard.errors import ShipyardError
from shipyard.render.engine import config_trees
from shipyard.render.targets import NAMES, TARGETS, select
from shipyard.spec.loader import load_spec
from shipyard.workspace.discovery import discover


def test_targets_are_named_once_and_own_disjoint_folders() -> None:
    assert NAMES == ("kustomize", "argocd", "kargo", "bootstrap", "jobs", "verdaccio", "serve", "tekton")
    roots = [root for target in TARGETS for root in target.roots]
    assert len(roots) == len(set(roots))


def test_select_keeps_render_order_and_refuses_unknown_names() -> None:
    assert [t.name for t in select([])] == list(NAMES)
    assert [t.name for t in select(["tekton", "kargo", "kargo"])] == ["kargo", "tekton"]
    with pytest.raises(ShipyardError, match=r"unknown render target 'argo', 'helm'") as caught:
        select(["helm", "kargo", "argo"])
    assert caught.value.exit_code == 2 and caught.value.hint == "valid targets: " + ", ".join(NAMES)


def test_only_app_targets_need_no_config_checkout(tmp_path: Path) -> None:
    (tree,) = config_trees(None, tmp_path, select(["tekton"]))
    assert tree.root == tmp_path and tree.roots == {"tekton"}
    with pytest.raises(ShipyardError, match="kargo need the config repo's checkout"):
        config_trees(None, tmp_path, select(["kargo", "tekton"]))


def test_a_target_writing_outside_its_folders_is_refused(acme: Path) -> None:
    (kargo,) = select(["kargo"])
    stray = dataclasses.replace(kargo, render=lambda p, w: {**kargo.render(p, w), "argocd/x.yaml": "a: 1\n"})
    with pytest.raises(ShipyardError, match=r"render target kargo produced 'argocd/x.yaml', outside its folders"):
        stray.files(load_spec(acme / "shipyard.yaml"), discover(acme))
