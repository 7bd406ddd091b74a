"""The durable queue: a delivery is on disk before it is acknowledged, an id is accepted once, and a restart
gives back exactly what was accepted and not done, in arrival order."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from shipyard.serve.queue import Delivery, DurableQueue, QueueError


def delivery(ident: str, key: str = "ref:refs/heads/main", body: bytes = b'{"a": 1}') -> Delivery:
    return Delivery("github", ident, "push", key, 1.0, {"X-GitHub-Event": "push"}, body)


def test_a_delivery_is_accepted_once_and_survives_a_restart(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path, retention=86400)
    first = queue.accept(delivery("one", body=b"\x00raw bytes\n{"))
    assert first is not None and queue.accept(delivery("one")) is None
    second = queue.accept(delivery("two"))
    assert second is not None and second.seq > first.seq
    queue.complete(first, {"status": "succeeded"})

    again = DurableQueue(tmp_path, retention=86400)
    (pending,) = again.recover()
    assert (pending.id, pending.body, pending.recovered) == ("two", b'{"a": 1}', True)
    assert again.accept(delivery("one")) is None and again.accept(delivery("two")) is None  # ids remembered
    assert [r["id"] for r in again.done(10)] == ["one"]
    assert again.record(first.name) is not None and again.record("../../etc/passwd") is None


def test_a_stop_between_done_and_removal_is_finished_on_start(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path, retention=86400)
    accepted = queue.accept(delivery("one"))
    assert accepted is not None
    queue.complete(accepted, {"status": "succeeded"})
    # The pending file back, as if the process stopped right after writing the record; and a half write.
    (tmp_path / "pending" / f"{accepted.name}.delivery").write_bytes(b'{"x": 1}\n')
    (tmp_path / "pending" / ".half.delivery.tmp").write_bytes(b"{")
    assert DurableQueue(tmp_path, retention=86400).recover() == []
    assert list((tmp_path / "pending").iterdir()) == []


def test_old_records_are_pruned_and_their_ids_forgotten(tmp_path: Path) -> None:
    now = [1_000_000_000.0]
    queue = DurableQueue(tmp_path, retention=60, clock=lambda: now[0])
    accepted = queue.accept(delivery("old"))
    assert accepted is not None
    queue.complete(accepted, {"status": "succeeded"})
    now[0] = accepted.seq / 1e9 + 61
    assert queue.prune() == 1 and not queue.seen("github", "old")


def test_concurrent_copies_of_one_delivery_are_accepted_once(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path, retention=86400)
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def send() -> None:
        barrier.wait()
        results.append(queue.accept(delivery("same")) is not None)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_ids_that_could_name_a_path_are_refused(tmp_path: Path) -> None:
    with pytest.raises(QueueError):
        delivery("../x")
    with pytest.raises(QueueError):
        Delivery("gitlab", "x", "push", "k", 1.0)
