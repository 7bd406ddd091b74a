"""Demo steps of CI on Tekton: the vulnerability gate, the webhook planner, the rendered tekton/."""

from __future__ import annotations

import json

from shipyard.ci.signature import sign
from shipyard.demo.context import DemoContext

# A Trivy JSON report (SchemaVersion 2) of the shape Trivy writes for an image, made up for the demo.
_REPORT = {
    "SchemaVersion": 2,
    "ArtifactName": "localhost/services/user-service:pr-42-abc1234",
    "ArtifactType": "container_image",
    "Results": [
        {
            "Target": "localhost/services/user-service:pr-42-abc1234 (debian 12.8)",
            "Class": "os-pkgs",
            "Type": "debian",
            "Vulnerabilities": [
                {
                    "VulnerabilityID": "CVE-2024-0001",
                    "PkgName": "libssl3",
                    "InstalledVersion": "3.0.15-1",
                    "FixedVersion": "3.0.15-2",
                    "Severity": "CRITICAL",
                    "Title": "openssl: an example critical finding",
                },
                {
                    "VulnerabilityID": "CVE-2024-0002",
                    "PkgName": "zlib1g",
                    "InstalledVersion": "1.2.13",
                    "Severity": "LOW",
                    "Status": "affected",
                },
            ],
        },
        {"Target": "app/package-lock.json", "Class": "lang-pkgs", "Type": "npm"},
    ],
}


def scan_gate(ctx: DemoContext) -> None:
    """The gate fails on a critical finding, passes once it is allow-listed (with a reason and an expiry)."""
    report = ctx.scratch / "trivy-user-service.json"
    report.write_text(json.dumps(_REPORT, indent=2))
    ctx.shipyard("scan", "gate", str(report), expect=1)
    allow = ctx.scratch / "scan-allowlist.yaml"
    allow.write_text(
        "- id: CVE-2024-0001\n  package: libssl3\n  reason: the TLS code path is not reachable in this service\n"
        "  expires: 2099-12-31\n"
    )
    ctx.shipyard("scan", "gate", str(report), "--allowlist", str(allow), "-o", "markdown")
    truncated = ctx.scratch / "truncated.json"
    truncated.write_text(json.dumps(_REPORT)[:120])
    ctx.shipyard("scan", "gate", str(truncated), expect=2)


def ci_plan(ctx: DemoContext) -> None:
    """A signed push to develop that touches a package: the alpha build and the package build start."""
    secret = ctx.scratch / "webhook-secret"
    secret.write_text("demo-webhook-secret\n")
    event = {
        "ref": "refs/heads/develop",
        "before": "1" * 40,
        "after": "2" * 40,
        "created": False,
        "deleted": False,
        "forced": False,
        "repository": {"full_name": "acme/monorepo", "clone_url": "https://github.com/acme/monorepo.git"},
        "pusher": {"name": "dev"},
        "commits": [{"id": "2" * 40, "added": [], "removed": [], "modified": ["packages/utils/src/index.ts"]}],
    }
    body = json.dumps(event).encode()
    payload = ctx.scratch / "push-develop.json"
    payload.write_bytes(body)
    signature = sign(body, b"demo-webhook-secret")
    ctx.shipyard(
        "ci", "plan", str(payload), "--event-type", "push", "--signature", signature, "--secret-file", str(secret)
    )
    payload.write_bytes(body.replace(b"develop", b"main"))
    ctx.shipyard("ci", "plan", str(payload), "--signature", signature, "--secret-file", str(secret), expect=2)


def tekton(ctx: DemoContext) -> None:
    """Render tekton/ into the monorepo: Tasks, Pipelines, the EventListener, bindings, templates, RBAC."""
    ctx.shipyard("ci", "render", "--dry-run")
    ctx.shipyard("ci", "render")
    ctx.shipyard("ci", "render", "--check")
