"""Previews and GitHub: the preview URLs in the pull request's Shipyard comment, and PR states for the clean-up.

The comment is the one ``pr comment`` writes; previews own only its ``preview`` section (see
``shipyard.github.feedback``), so the scan summary and the preview URLs never erase each other.

PR states are read one pull request at a time (``GET /repos/{owner}/{repo}/pulls/{number}``) and only
positive evidence counts: a refusal, an outage or an unreadable answer leaves the PR "unknown", never
"closed", and is reported. After a failure that is not about one PR alone (rate limit, outage, network,
credentials) the remaining PRs are not asked at all: they stay unknown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shipyard.github.client import GitHubClient, GitHubError
from shipyard.github.feedback import apply_comment, check_repo, plan_comment, preview_markdown
from shipyard.plan import Plan
from shipyard.previews.prstate import PrStates, parse_pr_states

if TYPE_CHECKING:
    from shipyard.plan.progress import Progress

PREVIEW_SECTION = "preview"
# Answers about one pull request alone; any other failure says nothing good about the next request either.
_PER_PR = {404, 410, 422}


def preview_section(urls: Mapping[str, str], namespace: str, tag: str) -> str:
    """The comment's ``preview`` section for a preview that is up."""
    return preview_markdown(dict(sorted(urls.items())), f"`{namespace}`, image tag `{tag}`")


def comment_preview(client: GitHubClient, repo: str, number: int, section: str, *, command: str, dry_run: bool) -> Plan:
    """Write ``section`` as the preview section of the PR's Shipyard comment (empty: remove it), keeping the rest."""
    plan = plan_comment(client, repo, number, {PREVIEW_SECTION: section}, command)
    if not dry_run:
        apply_comment(client, repo, number, plan)
    return plan


@dataclass
class GitHubPrStates:
    """A PR state lookup for ``preview_gc``: asks GitHub about each PR once per run (answers are cached)."""

    client: GitHubClient
    repo: str
    states: dict[int, str] = field(default_factory=dict)
    problems: dict[int, str] = field(default_factory=dict)
    stopped: str | None = None
    progress: Progress | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_repo(self.repo)

    @property
    def source(self) -> str:
        """Where the states come from, for the report."""
        return f"GitHub {self.repo}"

    def __call__(self, numbers: Sequence[int]) -> PrStates:
        """The states of ``numbers``; what GitHub did not positively answer is unknown and listed as a problem."""
        from shipyard.plan.progress import Counter

        unasked = [n for n in sorted(set(numbers)) if n not in self.states and n not in self.problems]
        counter = Counter(self.progress, "ask GitHub", len(unasked))
        counter.start()
        for number in unasked:
            self._ask(number)
            counter.step()
        asked = set(numbers)
        problems = [self.problems[n] for n in sorted(asked & self.problems.keys())]
        return PrStates(self.source, {n: s for n, s in self.states.items() if n in asked}, tuple(problems))

    def _ask(self, number: int) -> None:
        if self.stopped:
            self.problems[number] = f"PR {number}: not asked ({self.stopped})"
            return
        try:
            reply = self.client.request("GET", f"/repos/{self.repo}/pulls/{number}")
        except GitHubError as exc:
            self.problems[number] = f"PR {number}: {exc.message}"
            if exc.status not in _PER_PR:
                self.stopped = f"GitHub failed on PR {number}"
            return
        found = parse_pr_states([reply.data] if isinstance(reply.data, dict) else reply.data, self.source)
        state = found.states.get(number)
        if state is None or len(found.states) != 1:
            self.problems[number] = f"PR {number}: GitHub's answer does not say this PR's state"
        else:
            self.states[number] = state
