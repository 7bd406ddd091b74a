"""Who wrote a freight's source commit: the four-eyes rule keeps them from approving it.

The authors are the commit's author and its ``Co-authored-by`` people, by email. They come from the
application repository's history when the commit is there, and from what ``freight add`` recorded in
the freight; when both are known, both count (anyone either names wrote it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from shipyard.git import Git

_COMMIT = re.compile(r"[0-9a-f]{7,64}")
_EMAIL = re.compile(r"<([^<>\s]+@[^<>\s]+)>")


def commit_authors(app_repo: Path, commit: str) -> tuple[str, ...] | None:
    """The lower-cased emails of ``commit``'s author and co-authors in the git repository at ``app_repo``;
    None when the commit is not there (or is not a commit id)."""
    if not _COMMIT.fullmatch(commit):
        return None
    git = Git(app_repo)
    proc = git.execute(
        "log", "-1", "--no-show-signature", "--format=%ae%n%(trailers:key=Co-authored-by,valueonly,unfold)",
        f"{commit}^{{commit}}", "--",
    )  # fmt: skip
    if proc.returncode != 0:
        return None
    lines = proc.stdout.splitlines()
    if not lines or "@" not in lines[0]:
        return None
    found = {lines[0].strip().casefold()}
    for line in lines[1:]:
        match = _EMAIL.search(line)
        if match:
            found.add(match.group(1).casefold())
    return tuple(sorted(found))


def known_authors(recorded: Iterable[str], source_commit: str | None, app_repo: Path | None) -> tuple[str, ...]:
    """Everyone known to have written the source commit: ``recorded`` (the freight's record) and, when
    ``app_repo`` holds the commit, its author and co-authors there. Empty when nobody is known."""
    found = {email.casefold() for email in recorded}
    if source_commit and app_repo is not None:
        found.update(commit_authors(app_repo, source_commit) or ())
    return tuple(sorted(found))
