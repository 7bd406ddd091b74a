"""Pull request feedback: ONE Shipyard comment per PR (found again by a hidden marker and updated in place)
and, when the vulnerability gate fails, a review requesting changes. A later passing run dismisses
Shipyard's own earlier change requests, so a fixed PR is not left blocked."""

from __future__ import annotations

from dataclasses import dataclass, field

from shipyard.github.client import GitHubClient, GitHubError
from shipyard.plan import Action, Op, Plan, apply_plan
from shipyard.scan.gate import GateResult
from shipyard.scan.summary import format_markdown

MARKER = "<!-- shipyard:pr-comment -->"
REVIEW_MARKER = "<!-- shipyard:gate-review -->"


@dataclass
class Feedback:
    """What the comment says, and whether the gate failed (which asks for changes)."""

    gate: GateResult | None = None
    scan_errors: list[str] = field(default_factory=list)
    affected: list[str] | None = None
    previews: list[str] = field(default_factory=list)
    pipeline_status: str | None = None

    @property
    def gate_failed(self) -> bool:
        """An unusable report fails the gate too: it is never a pass."""
        return bool(self.scan_errors) or (self.gate is not None and not self.gate.passed)

    def body(self) -> str:
        """The comment's markdown, starting with the marker that finds it again."""
        lines = [MARKER, "## Shipyard", ""]
        if self.pipeline_status:
            lines += [f"Pipeline: **{self.pipeline_status}**", ""]
        if self.affected is not None:
            shown = ", ".join(f"`{name}`" for name in self.affected) if self.affected else "none"
            lines += [f"**Affected services** ({len(self.affected)}): {shown}", ""]
        if self.previews:
            lines += ["**Preview**", "", *(f"- {url}" for url in self.previews), ""]
        if self.scan_errors:
            lines += ["### ❌ Vulnerability gate failed: a report could not be read", ""]
            lines += [f"- {error}" for error in self.scan_errors]
            lines.append("")
        elif self.gate is not None:
            lines.append(format_markdown(self.gate).rstrip("\n"))
            lines.append("")
        elif self.affected is None:
            lines += ["No scan reports were produced.", ""]
        return "\n".join(lines).rstrip("\n") + "\n"

    def review_body(self) -> str:
        """The review's text when the gate fails."""
        reason = (
            "a scan report could not be read"
            if self.scan_errors
            else "vulnerabilities at or above the threshold are not allow-listed"
        )
        return f"{REVIEW_MARKER}\nShipyard's vulnerability gate failed: {reason}. See the Shipyard comment for details."


def plan_feedback(client: GitHubClient, repo: str, number: int, feedback: Feedback) -> Plan:
    """What has to change on the PR (reads comments and reviews; writes nothing)."""
    owner_repo = _check_repo(repo)
    plan = Plan(command="pr comment")
    body = feedback.body()
    mine = [
        c for c in client.paginate(f"/repos/{owner_repo}/issues/{number}/comments") if MARKER in (c.get("body") or "")
    ]
    if not mine:
        plan.add(Op.create, f"{repo}#{number} comment", "post the Shipyard comment", kind="comment")
    elif mine[0].get("body") != body:
        plan.add(
            Op.update, f"{repo}#{number} comment {mine[0]['id']}", "update in place", kind="comment", id=mine[0]["id"]
        )
    else:
        plan.notes.append("the Shipyard comment is up to date")
    for extra in mine[1:]:
        plan.notes.append(f"another comment ({extra['id']}) carries the marker; only the first is updated")
    reviews = [
        r
        for r in client.paginate(f"/repos/{owner_repo}/pulls/{number}/reviews")
        if REVIEW_MARKER in (r.get("body") or "")
    ]
    blocking = [r for r in reviews if r.get("state") == "CHANGES_REQUESTED"]
    if feedback.gate_failed:
        if blocking and blocking[-1].get("body") == feedback.review_body():
            plan.notes.append("changes are already requested by Shipyard")
        else:
            plan.add(Op.create, f"{repo}#{number} review", "request changes: the gate failed", kind="review")
    else:
        for review in blocking:
            plan.add(
                Op.update,
                f"{repo}#{number} review {review['id']}",
                "dismiss: the gate passes now",
                kind="dismissal",
                id=review["id"],
            )
    return plan


def apply_feedback(client: GitHubClient, repo: str, number: int, feedback: Feedback, plan: Plan) -> None:
    """Carry out ``plan`` (from ``plan_feedback``)."""
    owner_repo = _check_repo(repo)

    def create(action: Action) -> None:
        if action.details["kind"] == "comment":
            client.request("POST", f"/repos/{owner_repo}/issues/{number}/comments", {"body": feedback.body()})
        else:
            review = {"event": "REQUEST_CHANGES", "body": feedback.review_body()}
            client.request("POST", f"/repos/{owner_repo}/pulls/{number}/reviews", review)

    def update(action: Action) -> None:
        ident = action.details["id"]
        if action.details["kind"] == "comment":
            client.request("PATCH", f"/repos/{owner_repo}/issues/comments/{ident}", {"body": feedback.body()})
        else:
            dismissal = {"message": "Shipyard's vulnerability gate passes now.", "event": "DISMISS"}
            client.request("PUT", f"/repos/{owner_repo}/pulls/{number}/reviews/{ident}/dismissals", dismissal)

    apply_plan(plan, {Op.create: create, Op.update: update})


def _check_repo(repo: str) -> str:
    parts = repo.split("/")
    if len(parts) != 2 or not all(parts) or any(c in repo for c in " ?#%"):
        raise GitHubError(f"'{repo}' is not a repository name such as octo-org/monorepo")
    return repo
