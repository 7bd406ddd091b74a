"""The git layer: the only code that starts ``git``. Reading refs, trees and history; commits with
trailers; pushes that retry when another writer got there first."""

from shipyard.git.change import change_branch, checkout_tip, outpushed, temporary_clone
from shipyard.git.repo import Git, GitError, Identity, PushRejected
from shipyard.git.trailers import TRAILER_KEYS, Trailers, format_message, parse_trailers

__all__ = [
    "TRAILER_KEYS",
    "Git",
    "GitError",
    "Identity",
    "PushRejected",
    "Trailers",
    "change_branch",
    "checkout_tip",
    "format_message",
    "outpushed",
    "parse_trailers",
    "temporary_clone",
]
