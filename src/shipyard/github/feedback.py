"""Pull request feedback: ONE Shipyard comment per PR (found again by a hidden marker and updated in place)
and, when the vulnerability gate fails, a review requesting changes. A later passing run dismisses
Shipyard's own earlier change requests, so a fixed PR is not left blocked.

Several commands write the one comment (``pr comment``: status and scan; ``preview up``: the preview URLs),
so its body is made of marker-delimited sections, ``<!-- shipyard:section:NAME -->`` ... ``<!--
/shipyard:section:NAME -->``. Each writer replaces only the sections it owns and keeps every other one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipyard.github.client import GitHubClient, GitHubError
from shipyard.plan import Action, Op, Plan, apply_plan
from shipyard.scan.gate import GateResult
from shipyard.scan.summary import format_markdown
from shipyard.spec.model import pr_number_problem

MARKER = "<!-- shipyard:pr-comment -->"
REVIEW_MARKER = "<!-- shipyard:gate-review -->"
HEADING = "## Shipyard"
# Known sections in the order they are shown; a section this version does not know is kept, after them.
SECTION_ORDER = ("status", "preview", "scan")
# An owner (user or organisation): at most 39 letters, digits and single hyphens, not at either end.
_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}", re.ASCII)
_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}", re.ASCII)
_SECTION = re.compile(r"<!-- shipyard:section:([a-z0-9-]+) -->\n?(.*?)<!-- /shipyard:section:\1 -->", re.S)


def parse_sections(body: str) -> dict[str, str]:
    """The sections of a Shipyard comment, in the order found.

    A comment written before sections existed has none: its text (after the heading) is kept as the
    ``status`` section, so the next writer of another section does not erase it.
    """
    found = {m.group(1): m.group(2).strip("\n") for m in _SECTION.finditer(body)}
    if not found:
        legacy = body.replace(MARKER, "").strip().removeprefix(HEADING).strip()
        if legacy:
            found["status"] = legacy
    return found


def compose_comment(existing: str | None, owned: Mapping[str, str]) -> str:
    """The comment's body: the ``owned`` sections replaced (an empty text removes one), every other one kept."""
    sections = parse_sections(existing) if existing else {}
    sections.update(owned)
    order = [n for n in SECTION_ORDER if n in sections] + [n for n in sections if n not in SECTION_ORDER]
    lines = [MARKER, HEADING, ""]
    for name in order:
        text = sections[name].strip("\n")
        if text:
            lines += [f"<!-- shipyard:section:{name} -->", text, f"<!-- /shipyard:section:{name} -->", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def preview_markdown(urls: Mapping[str, str] | list[str], note: str | None = None) -> str:
    """The ``preview`` section: the preview URLs (by service when known), and an optional note."""
    heading = f"**Preview** ({note})" if note else "**Preview**"
    items = [f"- `{k}`: {v}" for k, v in urls.items()] if isinstance(urls, Mapping) else [f"- {u}" for u in urls]
    return "\n".join([heading, "", *items])


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

    def sections(self) -> dict[str, str]:
        """The comment sections ``pr comment`` owns: status and scan, and the preview when URLs are given."""
        status: list[str] = []
        if self.pipeline_status:
            status += [f"Pipeline: **{self.pipeline_status}**", ""]
        if self.affected is not None:
            shown = ", ".join(f"`{name}`" for name in self.affected) if self.affected else "none"
            status += [f"**Affected services** ({len(self.affected)}): {shown}", ""]
        scan: list[str] = []
        if self.scan_errors:
            scan += ["### ❌ Vulnerability gate failed: a report could not be read", ""]
            scan += [f"- {error}" for error in self.scan_errors]
        elif self.gate is not None:
            scan.append(format_markdown(self.gate).rstrip("\n"))
        elif self.affected is None:
            scan.append("No scan reports were produced.")
        owned = {"status": "\n".join(status).strip("\n"), "scan": "\n".join(scan).strip("\n")}
        if self.previews:
            owned["preview"] = preview_markdown(self.previews)
        return owned

    def body(self) -> str:
        """The comment's markdown as a new comment, starting with the marker that finds it again."""
        return compose_comment(None, self.sections())

    def review_body(self) -> str:
        """The review's text when the gate fails."""
        reason = (
            "a scan report could not be read"
            if self.scan_errors
            else "vulnerabilities at or above the threshold are not allow-listed"
        )
        return f"{REVIEW_MARKER}\nShipyard's vulnerability gate failed: {reason}. See the Shipyard comment for details."


def find_comment(client: GitHubClient, repo: str, number: int) -> tuple[dict[str, Any] | None, list[int]]:
    """The PR's Shipyard comment (None when there is none yet), and the ids of any later ones with the marker."""
    owner_repo = check_repo(repo)
    problem = pr_number_problem(number)
    if problem:
        raise GitHubError(f"--pr {problem}")
    mine = [
        c for c in client.paginate(f"/repos/{owner_repo}/issues/{number}/comments") if MARKER in (c.get("body") or "")
    ]
    return (mine[0] if mine else None), [int(c["id"]) for c in mine[1:]]


def plan_comment(client: GitHubClient, repo: str, number: int, owned: Mapping[str, str], command: str) -> Plan:
    """Bring the Shipyard comment's ``owned`` sections up to date, keeping the others (reads, writes nothing).

    The new body travels in the action's ``body`` detail; ``apply_comment`` writes it.
    """
    found, extras = find_comment(client, repo, number)
    return plan_comment_on(found, extras, repo, number, owned, command)


def plan_comment_on(
    found: dict[str, Any] | None, extras: list[int], repo: str, number: int, owned: Mapping[str, str], command: str
) -> Plan:
    """``plan_comment`` for a comment already read with ``find_comment`` (None: the PR has none yet)."""
    plan = Plan(command=command)
    body = compose_comment(found.get("body") if found else None, owned)
    if found is None:
        if any(text.strip() for text in owned.values()):
            plan.add(Op.create, f"{repo}#{number} comment", "post the Shipyard comment", kind="comment", body=body)
        else:
            plan.notes.append("no Shipyard comment, and nothing to write in one")
    elif found.get("body") != body:
        ident = int(found["id"])
        plan.add(Op.update, f"{repo}#{number} comment {ident}", "update in place", kind="comment", id=ident, body=body)
    else:
        plan.notes.append("the Shipyard comment is up to date")
    plan.notes.extend(f"another comment ({extra}) carries the marker; only the first is updated" for extra in extras)
    return plan


def apply_comment(client: GitHubClient, repo: str, number: int, plan: Plan) -> None:
    """Carry out the comment actions of ``plan`` (from ``plan_comment``).

    Such a plan holds comment actions only, whose body is in the action: the empty Feedback is never read.
    """
    apply_feedback(client, repo, number, Feedback(), plan)


def plan_feedback(client: GitHubClient, repo: str, number: int, feedback: Feedback) -> Plan:
    """What has to change on the PR (reads comments and reviews; writes nothing)."""
    plan = plan_comment(client, repo, number, feedback.sections(), "pr comment")
    plan_review(client, repo, number, plan, failed=feedback.gate_failed, body=feedback.review_body())
    return plan


def plan_review(
    client: GitHubClient,
    repo: str,
    number: int,
    plan: Plan,
    *,
    failed: bool,
    body: str,
    marker: str = REVIEW_MARKER,
) -> None:
    """Add to ``plan`` what the gate asks of the PR's reviews: a change request when it ``failed`` (unless the
    same one stands), else the dismissal of every change request carrying ``marker``.

    Each gate has its own marker, so one gate passing never dismisses another gate's change request. The
    review's text travels in the action's ``body`` detail.
    """
    owner_repo = check_repo(repo)
    reviews = [
        r for r in client.paginate(f"/repos/{owner_repo}/pulls/{number}/reviews") if marker in (r.get("body") or "")
    ]
    blocking = [r for r in reviews if r.get("state") == "CHANGES_REQUESTED"]
    if failed:
        if blocking and blocking[-1].get("body") == body:
            plan.notes.append("changes are already requested by Shipyard")
        else:
            plan.add(Op.create, f"{repo}#{number} review", "request changes: the gate failed", kind="review", body=body)
    else:
        for review in blocking:
            plan.add(
                Op.update,
                f"{repo}#{number} review {review['id']}",
                "dismiss: the gate passes now",
                kind="dismissal",
                id=review["id"],
            )


def apply_feedback(client: GitHubClient, repo: str, number: int, feedback: Feedback, plan: Plan) -> None:
    """Carry out ``plan`` (from ``plan_feedback``)."""
    owner_repo = check_repo(repo)

    def create(action: Action) -> None:
        if action.details["kind"] == "comment":
            client.request("POST", f"/repos/{owner_repo}/issues/{number}/comments", {"body": action.details["body"]})
        else:
            review = {"event": "REQUEST_CHANGES", "body": action.details.get("body") or feedback.review_body()}
            client.request("POST", f"/repos/{owner_repo}/pulls/{number}/reviews", review)

    def update(action: Action) -> None:
        ident = action.details["id"]
        if action.details["kind"] == "comment":
            client.request("PATCH", f"/repos/{owner_repo}/issues/comments/{ident}", {"body": action.details["body"]})
        else:
            dismissal = {"message": "Shipyard's vulnerability gate passes now.", "event": "DISMISS"}
            client.request("PUT", f"/repos/{owner_repo}/pulls/{number}/reviews/{ident}/dismissals", dismissal)

    apply_plan(plan, {Op.create: create, Op.update: update})


def check_api_url(url: str) -> str:
    """``url`` when the token may be sent to it: https, or http on this machine; a GitHubError otherwise."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not parts.hostname or parts.scheme not in ("https", "http") or (parts.scheme == "http" and not local):
        raise GitHubError(
            f"--api-url {url[:120]!r}: the token is sent only over https (or http on this machine)",
            hint="GitHub is https://api.github.com; GitHub Enterprise https://HOST/api/v3",
        )
    return url


def check_repo(repo: str) -> str:
    """``repo`` when it is ``owner/name`` of a GitHub repository; a GitHubError naming it otherwise.

    The name goes into the path of every API request, so ``..``, a query string or a control character
    in it would call another endpoint; commands check it before their first change.
    """
    owner, slash, name = repo.partition("/")
    if not slash or not _OWNER.fullmatch(owner) or not _NAME.fullmatch(name) or name in (".", ".."):
        raise GitHubError(
            f"{repo[:120]!r} is not a GitHub repository: write OWNER/NAME, e.g. octo-org/monorepo",
            hint="the owner is letters, digits and single hyphens; the name letters, digits, '.', '_' and '-'",
        )
    return repo
