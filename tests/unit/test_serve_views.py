"""How the pages arrange the JSON: the board's rows, a service's timeline, times and sizes for people."""

from __future__ import annotations

from typing import Any

from shipyard.serve.views import board_rows, duration, maturity, size_text, timeline, until

DIGEST = {name: "sha256:" + name * 64 for name in "abcd"}


def cell(version: str, digest: str) -> dict[str, Any]:
    return {"version": version, "maturity": maturity(version), "digest": digest, "since": "2026-12-01T10:00:00Z"}


def board() -> dict[str, Any]:
    return {
        "status": {
            "environments": ["dev", "uat", "production"],
            "services": {
                "api": {"dev": cell("v2.0.0-alpha.1", DIGEST["a"]), "production": cell("v1.0.0", DIGEST["b"])},
                "web": {"uat": cell("v1.1.0-beta.1", DIGEST["c"]), "production": cell("v1.1.0", DIGEST["c"])},
            },
        },
        "previews": {
            "now": "2026-12-01T10:00:00Z",
            "previews": [
                {
                    "name": "pr-7",
                    "pr": 7,
                    "urls": {"web": "https://pr-7-web.preview.example.com"},
                    "tag": "pr-7-abcdef1",
                    "expiresAt": "2026-12-08T10:00:00Z",
                    "expired": False,
                    "services": ["web", "worker"],
                }
            ],
        },
        "sandbox": {
            "source": "production",
            "images": [
                {"name": "reg/acme/api", "digest": DIGEST["b"]},
                {"name": "reg/acme/web", "digest": DIGEST["c"]},
            ],
        },
    }


def test_the_board_has_a_row_per_service_with_its_previews_environments_and_sandbox() -> None:
    rows = {row["service"]: row for row in board_rows(board())}
    assert sorted(rows) == ["api", "web", "worker"]  # a service only a preview runs still has its row
    api, web, worker = rows["api"], rows["web"], rows["worker"]
    assert [env for env, _ in api["environments"]] == ["dev", "uat", "production"]
    assert api["environments"][1] == ("uat", None)
    assert api["previews"] == [] and worker["environments"][0] == ("dev", None)
    assert web["previews"][0]["url"] == "https://pr-7-web.preview.example.com"
    assert worker["previews"][0]["url"] is None
    # The sandbox names the version of production that runs its digest, not another stage's beta name.
    assert api["sandbox"] == {"digest": DIGEST["b"], "version": "v1.0.0", "maturity": "stable"}
    assert web["sandbox"]["version"] == "v1.1.0"
    assert worker["sandbox"] is None


def hop(stage: str, version: str, date: str, commit: str) -> dict[str, Any]:
    return {"stage": stage, "version": version, "date": date, "by": "riley", "commit": commit}


def test_a_timeline_has_one_entry_per_freight_newest_first_with_its_path_in_order() -> None:
    beta_path = [
        hop("production", "v1.0.0", "2026-12-03T10:00:00Z", "p3"),
        hop("uat", "v1.0.0-beta.1", "2026-12-02T10:00:00Z", "p2"),
    ]
    trace = {
        "environments": [
            {
                "env": "uat", "freight": "f1", "sourceCommit": "abc", "pr": "5", "version": "v1.0.0-beta.1",
                "since": "2026-12-02T10:00:00Z", "rollback": False, "application": "api-uat", "path": beta_path[1:],
            },
            {
                "env": "production", "freight": "f1", "sourceCommit": "abc", "pr": "5", "version": "v1.0.0",
                "since": "2026-12-03T10:00:00Z", "rollback": False, "application": "api-production", "path": beta_path,
            },
            {
                "env": "dev", "freight": "f0", "sourceCommit": "abd", "pr": "4", "version": "v1.0.0-alpha.1",
                "since": "2026-12-01T10:00:00Z", "rollback": False, "application": "api-dev",
                "path": [hop("dev", "v1.0.0-alpha.1", "2026-12-01T10:00:00Z", "p1")],
            },
        ]
    }  # fmt: skip
    first, second = timeline(trace)
    assert first["freight"] == "f1" and second["freight"] == "f0"
    assert [h["stage"] for h in first["path"]] == ["uat", "production"]  # each hop once, oldest first
    assert first["versions"] == ["v1.0.0-beta.1", "v1.0.0"]
    assert [r["env"] for r in first["runsIn"]] == ["uat", "production"]


def test_a_release_without_a_pr_of_its_own_names_the_prs_of_its_line() -> None:
    stable = {
        "env": "production", "freight": "f9", "sourceCommit": "abe", "pr": None, "releasePrs": ["4", "5"],
        "version": "v1.0.0", "since": "2026-12-03T10:00:00Z", "rollback": False, "application": "api-production",
        "path": [hop("production", "v1.0.0", "2026-12-03T10:00:00Z", "p9")],
    }  # fmt: skip
    (entry,) = timeline({"environments": [stable]})
    assert entry["pr"] is None and entry["releasePrs"] == ["4", "5"]


def test_times_and_sizes_read_well() -> None:
    assert duration(6 * 86400 + 23 * 3600 + 59) == "6d 23h" and duration(125) == "2m" and duration(40) == "40s"
    assert until("2026-12-08T10:00:00Z", "2026-12-01T10:30:00Z") == "in 6d 23h"
    assert until("2026-12-01T05:00:00Z", "2026-12-01T10:00:00+00:00") == "5h 0m ago"
    assert until(None, "2026-12-01T10:00:00Z") == "" and until("not a time", "2026-12-01T10:00:00Z") == ""
    assert size_text(812) == "812 bytes" and size_text(64 * 1024) == "64 KiB" and size_text(3 << 20) == "3.0 MiB"
    assert [maturity(v) for v in ("v1.0.0-alpha.3", "v1.0.0-beta.1", "v1.0.0", "pr-7-abc", None)] == [
        "alpha",
        "beta",
        "stable",
        "pr",
        "none",
    ]
