"""A finished Harbor scan, turned into the pull request's feedback: the artifact's pull request (from its
``pr-<n>-<sha7>`` tag or its annotations), Harbor's vulnerability report, the same gate as ``scan gate``, and
the PR's one Shipyard comment (a section per image), with a change request while any image fails.

Fail closed: a report Harbor does not have, cannot serve, or serves in a shape the gate's parser refuses is
"not scanned", which fails the gate. It is never read as clean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.errors import ShipyardError
from shipyard.github.client import GitHubClient
from shipyard.github.feedback import check_repo, find_comment, parse_sections, plan_comment_on, plan_review
from shipyard.plan import Plan
from shipyard.registry.build import PULL_REQUEST
from shipyard.registry.build import REVISION as BUILD_REVISION
from shipyard.registry.harbor.client import HarborClient, repository_path
from shipyard.registry.harbor.vulnerabilities import vulnerability_report
from shipyard.scan import GateResult, Severity, evaluate, load_allowlist
from shipyard.scan.parse import parse_report
from shipyard.scan.summary import format_markdown
from shipyard.serve.harbor_hook import Artifact, HarborEvent

PR_TAG = re.compile(r"pr-([1-9][0-9]{0,9})-([0-9a-f]{7})")
# The annotations `image build` writes: the commit built, and the pull request (`--pr`).
REVISION, PR_ANNOTATION = BUILD_REVISION, PULL_REQUEST
FAILED_MARK = "<!-- shipyard:gate:failed -->"
HARBOR_REVIEW_MARKER = "<!-- shipyard:harbor-gate-review -->"
REVIEW_BODY = (
    f"{HARBOR_REVIEW_MARKER}\nHarbor's vulnerability scan of an image of this pull request failed Shipyard's gate, "
    "or could not be read. See the Shipyard comment for details."
)
SECTION_PREFIX = "harbor-"
_SLUG = re.compile(r"[^a-z0-9]+")
_SHA = re.compile(r"[0-9a-f]{40}")


class LinkError(ShipyardError):
    """The artifact's marks disagree about its pull request."""


@dataclass(frozen=True)
class PullRequestRef:
    """The pull request an artifact was built for, and how that was found."""

    number: int
    found_by: str


@dataclass(frozen=True)
class GatePolicy:
    """The gate's settings: the spec's threshold (``none`` turns it off) and the workspace's allow-list file."""

    threshold: str = "high"
    allowlist: Path | None = None


def section_name(project: str, repository: str) -> str:
    """The comment section of one image: ``harbor-<project>-<repository>`` in the section alphabet."""
    return SECTION_PREFIX + _SLUG.sub("-", f"{project}/{repository}".lower()).strip("-")


def artifact_marks(artifact: Any) -> tuple[list[str], dict[str, str]]:
    """An artifact's tag names, and its OCI annotations merged over its image config's labels."""
    if not isinstance(artifact, dict):
        raise ShipyardError("Harbor answered an artifact that is not a JSON object")
    tags = [t["name"] for t in artifact.get("tags") or [] if isinstance(t, dict) and isinstance(t.get("name"), str)]
    marks: dict[str, str] = {}
    extra = artifact.get("extra_attrs")
    config = extra.get("config") if isinstance(extra, dict) else None
    labels = config.get("Labels") if isinstance(config, dict) else None
    for source in (labels, artifact.get("annotations")):
        if isinstance(source, dict):
            marks.update({k: v for k, v in source.items() if isinstance(k, str) and isinstance(v, str)})
    return tags, marks


def pull_request_of(
    tags: list[str], marks: dict[str, str], github: GitHubClient, repo: str, hinted: str | None
) -> PullRequestRef | None:
    """The artifact's pull request: its ``pr-<n>-<sha7>`` tags and PR-number annotation must agree (and agree
    with the revision annotation); with only a revision, the open pull request whose head it is."""
    found: dict[int, str] = {}
    shas: set[str] = set()
    for tag in [*tags, *([hinted] if hinted else [])]:
        match = PR_TAG.fullmatch(tag)
        if match:
            found.setdefault(int(match.group(1)), f"tag {tag}")
            shas.add(match.group(2))
    annotated = marks.get(PR_ANNOTATION)
    if annotated is not None:
        if not annotated.isdigit() or not 0 < int(annotated) < 10**10:
            raise LinkError(f"the {PR_ANNOTATION} annotation is {annotated!r}, not a pull request number")
        found.setdefault(int(annotated), f"annotation {PR_ANNOTATION}")
    revision = marks.get(REVISION)
    if revision is not None and _SHA.fullmatch(revision) is None:
        revision = None  # not a git commit id (a version, a branch): it cannot name a pull request
    if len(found) > 1:
        raise LinkError(f"the artifact names several pull requests ({', '.join(f'#{n}' for n in sorted(found))})")
    if revision is not None and any(not revision.startswith(sha) for sha in shas):
        raise LinkError(f"the artifact's tag and its {REVISION} annotation ({revision[:12]}) name different commits")
    if found:
        number, how = next(iter(found.items()))
        return PullRequestRef(number, how)
    if revision is None:
        return None
    owner_repo = check_repo(repo)
    pulls = [
        p
        for p in github.paginate(f"/repos/{owner_repo}/commits/{revision}/pulls")
        if isinstance(p, dict) and p.get("state") == "open" and (p.get("head") or {}).get("sha") == revision
    ]
    if len(pulls) != 1 or not isinstance(pulls[0].get("number"), int):
        return None
    return PullRequestRef(int(pulls[0]["number"]), f"annotation {REVISION} (the head of the open pull request)")


def gate_report(
    harbor: HarborClient, event: HarborEvent, artifact: Artifact, policy: GatePolicy
) -> tuple[GateResult | None, str | None]:
    """The gate's result on Harbor's report, or why there is none to gate on ("not scanned")."""
    if policy.threshold == "none":
        return None, None
    if event.type != "SCANNING_COMPLETED":
        return None, f"Harbor reported {event.type}"
    try:
        report = vulnerability_report(harbor, event.project, event.repository, artifact.digest)
        if not report.scanned:
            return None, "Harbor has no vulnerability report for it"
        allowlist = load_allowlist(policy.allowlist) if policy.allowlist else None
        result = evaluate(
            [parse_report(report.reports, report.reference)],
            threshold=Severity.parse(policy.threshold),
            allowlist=allowlist,
        )
    except ShipyardError as exc:  # ScanInputError, HarborError, a bad allow-list: nothing known, nothing clean
        return None, exc.message
    return result, None


def section_text(event: HarborEvent, artifact: Artifact, result: GateResult | None, problem: str | None) -> str:
    """The image's section of the comment; it carries ``FAILED_MARK`` while the image fails the gate."""
    failed = problem is not None or (result is not None and not result.passed)
    named = f"`{event.project}/{event.repository}@{artifact.digest[:19]}`"
    if artifact.tag:
        named += f" (`{artifact.tag}`)"
    lines = [FAILED_MARK] if failed else []
    lines += [f"**Harbor scan** of {named}", ""]
    if problem is not None:
        lines += [f"### ❌ Not scanned: {problem}", "", "Unknown is not clean: the gate fails until Harbor has one."]
    elif result is None:
        lines.append("The vulnerability gate is off (`registry.scan.severityThreshold: none`).")
    else:
        lines.append(format_markdown(result).rstrip("\n"))
    return "\n".join(lines)


def plan_scan_feedback(github: GitHubClient, repo: str, number: int, section: str, text: str) -> tuple[Plan, bool]:
    """The comment with this image's section replaced, and the change request while any image's section fails
    (a passing image never dismisses another's failure); also whether the PR fails now."""
    found, extras = find_comment(github, repo, number)
    plan = plan_comment_on(found, extras, repo, number, {section: text}, "harbor scan")
    sections = parse_sections(found.get("body") or "") if found else {}
    sections[section] = text
    failing = any(n.startswith(SECTION_PREFIX) and FAILED_MARK in t for n, t in sections.items())
    plan_review(github, repo, number, plan, failed=failing, body=REVIEW_BODY, marker=HARBOR_REVIEW_MARKER)
    return plan, failing


def apply_scan_feedback(github: GitHubClient, repo: str, number: int, plan: Plan) -> None:
    """Carry out ``plan`` (from ``plan_scan_feedback``)."""
    from shipyard.github.feedback import Feedback, apply_feedback

    apply_feedback(github, repo, number, Feedback(), plan)  # every action carries its own body


def process_scan(
    event: HarborEvent, harbor: HarborClient, github: GitHubClient, repo: str, policy: GatePolicy
) -> dict[str, Any]:
    """The whole flow for one event: the outcome as JSON data (what was posted, or why nothing was)."""
    results: list[dict[str, Any]] = []
    for artifact in event.artifacts:
        where = f"{event.project}/{event.repository}@{artifact.digest}"
        path = f"{repository_path(event.project, event.repository)}/artifacts/{artifact.digest}"
        try:
            data = harbor.get_json(path, {"with_tag": "true", "with_label": "false"})
            tags, marks = artifact_marks(data)
            pull = pull_request_of(tags, marks, github, repo, artifact.tag)
        except ShipyardError as exc:
            results.append({"artifact": where, "status": "failed", "reason": exc.message})
            continue
        if pull is None:
            results.append({"artifact": where, "status": "ignored", "reason": "the artifact names no pull request"})
            continue
        result, problem = gate_report(harbor, event, artifact, policy)
        text = section_text(event, artifact, result, problem)
        section = section_name(event.project, event.repository)
        plan, failing = plan_scan_feedback(github, repo, pull.number, section, text)
        apply_scan_feedback(github, repo, pull.number, plan)
        results.append(
            {
                "artifact": where,
                "status": "commented",
                "pullRequest": pull.number,
                "foundBy": pull.found_by,
                "passed": problem is None and (result is None or result.passed),
                "notScanned": problem,
                "pullRequestFails": failing,
                "plan": plan.to_json(),
            }
        )
    failed = any(r["status"] == "failed" for r in results)
    return {"status": "failed" if failed else "succeeded", "artifacts": results}
