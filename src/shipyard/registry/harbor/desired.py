"""The Harbor state the spec asks for (project scanning, immutable stable tags, retention, the webhook, the CI
robot account), as API bodies. Pure data, no requests."""

from __future__ import annotations

from typing import Any

from shipyard.spec.model import Platform
from shipyard.times import parse_duration

ROBOT_NAME = "shipyard-ci"
WEBHOOK_NAME = "shipyard"
WEBHOOK_EVENTS = ("PUSH_ARTIFACT", "SCANNING_COMPLETED")
ALPHA_KEPT = 10


def project_metadata(platform: Platform) -> dict[str, str]:
    """Project metadata: every value is a string in Harbor's API ("true", "high")."""
    scan = platform.registry.scan
    return {
        "public": "false",
        "auto_scan": str(scan.scan_on_push).lower(),
        "prevent_vul": str(scan.prevent_vulnerable).lower(),
        "severity": scan.severity_threshold,
    }


def _digits(count: int = 3) -> str:
    # One to three digits, spelled with doublestar classes and alternations (no '*', which would also
    # match the '-alpha.N' of a prerelease).
    return "[0-9]" + "{,[0-9]}" * (count - 1)


def stable_tag_pattern(prefix: str) -> str:
    """A doublestar pattern matching stable version tags only (``v1.2.3``, not ``v1.2.3-beta.1``)."""
    return f"{prefix}{_digits()}.{_digits()}.{_digits()}"


def _selector(pattern: str, decoration: str = "matches") -> dict[str, str]:
    return {"kind": "doublestar", "decoration": decoration, "pattern": pattern}


_ALL_REPOSITORIES = {"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]}


def immutable_rule(platform: Platform) -> dict[str, Any]:
    """Stable version tags can never be moved or deleted (aliases such as latest still move)."""
    return {
        "disabled": False,
        "action": "immutable",
        "template": "immutable_template",
        "tag_selectors": [_selector(stable_tag_pattern(platform.versioning.tag_prefix))],
        "scope_selectors": _ALL_REPOSITORIES,
    }


def retention_rules(platform: Platform) -> list[dict[str, Any]]:
    """Harbor retention keeps what a rule retains and deletes the rest, so everything that is not a PR
    or alpha build is retained explicitly."""
    days = max(1, parse_duration(platform.preview.ttl).days)
    alpha = f"{platform.versioning.tag_prefix}*-alpha.*"
    return [
        {
            "disabled": False,
            "action": "retain",
            "template": "nDaysSinceLastPush",
            "params": {"nDaysSinceLastPush": days},
            "tag_selectors": [_selector("pr-*")],
            "scope_selectors": _ALL_REPOSITORIES,
        },
        {
            "disabled": False,
            "action": "retain",
            "template": "latestPushedK",
            "params": {"latestPushedK": ALPHA_KEPT},
            "tag_selectors": [_selector(alpha)],
            "scope_selectors": _ALL_REPOSITORIES,
        },
        {
            "disabled": False,
            "action": "retain",
            "template": "always",
            "params": {},
            "tag_selectors": [_selector(f"{{pr-*,{alpha}}}", "excludes")],
            "scope_selectors": _ALL_REPOSITORIES,
        },
    ]


def retention_policy(platform: Platform, project_id: int) -> dict[str, Any]:
    """The project's retention policy, run daily at 03:00."""
    return {
        "algorithm": "or",
        "rules": retention_rules(platform),
        "trigger": {"kind": "Schedule", "settings": {"cron": "0 0 3 * * *"}, "references": {}},
        "scope": {"level": "project", "ref": project_id},
    }


def webhook_policy(url: str, auth_header: str | None) -> dict[str, Any]:
    """The webhook that starts CI on a push and feeds the scan gate when a scan completes."""
    target: dict[str, Any] = {"type": "http", "address": url, "skip_cert_verify": False}
    if auth_header:
        target["auth_header"] = auth_header
    return {
        "name": WEBHOOK_NAME,
        "description": "Managed by shipyard harbor apply",
        "enabled": True,
        "event_types": list(WEBHOOK_EVENTS),
        "targets": [target],
    }


def robot_permissions(platform: Platform) -> list[dict[str, Any]]:
    """Least privilege for CI: push, pull and read scan results of service images; pull base images."""
    projects = platform.registry.projects

    def access(*pairs: tuple[str, str]) -> list[dict[str, str]]:
        return [{"resource": r, "action": a, "effect": "allow"} for r, a in pairs]

    return [
        {
            "kind": "project",
            "namespace": projects.services,
            "access": access(
                ("repository", "pull"), ("repository", "push"), ("artifact", "read"), ("artifact-addition", "read")
            ),
        },
        {"kind": "project", "namespace": projects.base_images, "access": access(("repository", "pull"))},
    ]


def robot_create(platform: Platform) -> dict[str, Any]:
    """The CI robot account (system level, covering exactly the two projects)."""
    return {
        "name": ROBOT_NAME,
        "description": "CI pushes service images and reads their scan reports (managed by shipyard)",
        "level": "system",
        "disable": False,
        "duration": -1,
        "permissions": robot_permissions(platform),
    }
