"""Long work reports progress through a callback: the library calls it, and draws nothing itself."""

from __future__ import annotations

import threading
from pathlib import Path

from shipyard.plan.progress import Counter, Progress
from shipyard.registry import LayoutStore, parse_reference
from shipyard.registry.tagging import apply_taggings, plan_releases
from shipyard.render.engine import config_trees, render
from shipyard.spec.loader import load_spec
from shipyard.versioning.semver import Version
from shipyard.workspace.discovery import discover
from tests.ociimages import push_image

Event = tuple[str, int, "int | None"]


def _recorder() -> tuple[list[Event], Progress]:
    events: list[Event] = []
    lock = threading.Lock()

    def record(task: str, done: int, total: int | None) -> None:
        with lock:
            events.append((task, done, total))

    return events, record


def test_counter_counts_once_per_unit_across_threads() -> None:
    events, record = _recorder()
    counter = Counter(record, "work", 40)

    def work() -> None:
        for _ in range(10):
            counter.step()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [done for _, done, _ in events] == list(range(1, 41))
    Counter(None, "nobody listens", 3).step()  # no callback: nothing to call, nothing fails


def test_image_release_reports_each_image_read_and_each_tag_written(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path)
    repos = [f"services/s{i}" for i in range(3)]
    for repo in repos:
        push_image(store, repo, "rc", layers=1, size=64)
    events, record = _recorder()
    sources = [parse_reference(f"localhost/{r}:rc") for r in repos]
    taggings = plan_releases(lambda _r: store, sources, Version.parse("v1.0.0"), progress=record)
    apply_taggings(taggings, progress=record)
    tags = sum(len(t.changes) for t in taggings)  # all new: stable, latest, v1, v1.0, v1.0.0 per image
    assert sorted(e for e in events if e[0] == "read images") == [("read images", n, 3) for n in range(4)]
    assert sorted(e for e in events if e[0] == "write tags") == [("write tags", n, tags) for n in range(tags + 1)]


def test_render_reports_each_target_and_each_file(acme: Path, tmp_path: Path) -> None:
    platform, workspace = load_spec(acme / "shipyard.yaml"), discover(acme)
    events, record = _recorder()
    trees = config_trees(tmp_path / "out", acme)
    result = render(platform, workspace, trees, write=True, use_cache=False, cache_root=acme, progress=record)
    targets = sum(len(tree.targets) for tree in trees)
    assert [e for e in events if e[0] == "render targets"] == [
        ("render targets", n, targets) for n in range(targets + 1)
    ]
    files = len(result.changes)
    assert files > 0
    assert [e for e in events if e[0] == "write files"] == [("write files", n, files) for n in range(files + 1)]
