"""Argo Rollouts' pod arithmetic for a canary without traffic routing, as `rollouts/canary-weights` replays it."""

from __future__ import annotations

import pytest

from shipyard.k8s.policies.rollouts import replica_share


@pytest.mark.parametrize(
    ("replicas", "weight", "surge", "share"),
    [
        (2, 10, 1, 100 / 3),  # one canary pod beside two stable ones
        (2, 50, 1, 50.0),
        (2, 100, 1, 100.0),
        (4, 25, 1, 25.0),  # exact: one of four
        (10, 25, 3, 300 / 11),  # 2.5 pods: a tie; three of eleven with the surge is the closest
        (1, 10, 0, 0.0),  # one replica and no surge: the canary may get none
        (20, 10, 5, 10.0),
    ],
)
def test_the_canary_gets_the_share_rollouts_would_give_it(replicas: int, weight: int, surge: int, share: float) -> None:
    assert replica_share(replicas, weight, surge) == pytest.approx(share)
