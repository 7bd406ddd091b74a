"""Shipyard's marks on a preview namespace, and the one strict reading of them.

A preview is Shipyard's only when it carries every mark: the label ``shipyard.dev/preview=true``, the
annotation ``shipyard.dev/managed-by=shipyard``, and a name that is exactly the preview pattern
(``pr-{number}``) for the number in its ``shipyard.dev/pr-number`` annotation. Anything short of that
is somebody else's and is never touched. The timestamps are read strictly too: a value that is not
RFC 3339 with an offset, or a TTL that is not a duration, is a problem to report, never a reason to
delete.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from shipyard.spec.model import MAX_PR_NUMBER
from shipyard.times import add, parse_duration, parse_rfc3339

LABEL_PREVIEW = "shipyard.dev/preview"
ANNOTATION_MANAGED_BY = "shipyard.dev/managed-by"
ANNOTATION_PR = "shipyard.dev/pr-number"
ANNOTATION_CREATED = "shipyard.dev/created-at"
ANNOTATION_TTL = "shipyard.dev/ttl"
MANAGER = "shipyard"

# Namespaces no clean-up may ever match, whatever they carry; the environments' own are added per platform.
ALWAYS_PROTECTED = frozenset({"kube-system", "kube-public", "kube-node-lease", "default", "argocd"})

_PR_NUMBER = re.compile(r"[1-9][0-9]{0,9}")


def protected_namespaces(environment_namespaces: Iterable[str]) -> frozenset[str]:
    """The namespaces a clean-up can never match: the cluster's own, Argo CD's, and every environment's."""
    return ALWAYS_PROTECTED | frozenset(environment_namespaces)


@dataclass(frozen=True)
class NamePattern:
    """The preview namespace pattern (``pr-{number}``): formats names and recognises them exactly."""

    pattern: str = "pr-{number}"

    def name(self, number: int) -> str:
        """The namespace (and directory) name of a pull request's preview; ValueError for a number out of range."""
        if isinstance(number, bool) or not 1 <= number <= MAX_PR_NUMBER:
            raise ValueError(f"{number} is not a pull request number (1 to {MAX_PR_NUMBER})")
        return self.pattern.replace("{number}", str(number))

    def number(self, name: str) -> int | None:
        """The pull request number a name is the canonical preview name of, or None."""
        before, _, after = self.pattern.partition("{number}")
        if not (name.startswith(before) and name.endswith(after)) or len(name) <= len(before) + len(after):
            return None
        digits = name[len(before) : len(name) - len(after)]
        return int(digits) if _PR_NUMBER.fullmatch(digits) and int(digits) <= MAX_PR_NUMBER else None


@dataclass(frozen=True)
class Marked:
    """A namespace carrying all of Shipyard's marks, with its timestamps read (or the problem reading them)."""

    name: str
    number: int
    created_at: datetime | None
    ttl: timedelta | None
    expires_at: datetime | None
    problem: str | None


def read_marks(
    name: str,
    labels: Mapping[str, object] | None,
    annotations: Mapping[str, object] | None,
    names: NamePattern,
    protected: frozenset[str],
) -> Marked | str:
    """Read a namespace's marks: a ``Marked`` when it is Shipyard's preview, else why it is not.

    Every mark is checked positively; a missing or odd value means "not ours". ``Marked.problem``
    names a malformed created-at or TTL on an otherwise marked preview.
    """
    labels = labels if isinstance(labels, Mapping) else {}
    annotations = annotations if isinstance(annotations, Mapping) else {}
    if name in protected:
        return f"'{name}' is a protected namespace"
    if labels.get(LABEL_PREVIEW) != "true":
        return f"no label {LABEL_PREVIEW}=true"
    if annotations.get(ANNOTATION_MANAGED_BY) != MANAGER:
        return f"no annotation {ANNOTATION_MANAGED_BY}={MANAGER}"
    number = names.number(name)
    if number is None:
        return f"the name is not {names.pattern}"
    if annotations.get(ANNOTATION_PR) != str(number):
        return f"annotation {ANNOTATION_PR} does not say {number}"
    created_text, ttl_text = annotations.get(ANNOTATION_CREATED), annotations.get(ANNOTATION_TTL)
    problems: list[str] = []
    created: datetime | None = None
    ttl: timedelta | None = None
    if not isinstance(created_text, str):
        problems.append(f"annotation {ANNOTATION_CREATED} is missing")
    else:
        try:
            created = parse_rfc3339(created_text)
        except ValueError as exc:
            problems.append(f"annotation {ANNOTATION_CREATED}: {exc}")
    if not isinstance(ttl_text, str):
        problems.append(f"annotation {ANNOTATION_TTL} is missing")
    else:
        try:
            ttl = parse_duration(ttl_text)
        except ValueError as exc:
            problems.append(f"annotation {ANNOTATION_TTL}: {exc}")
    expires: datetime | None = None
    if created is not None and ttl is not None:
        try:
            expires = add(created, ttl)
        except ValueError as exc:
            problems.append(f"annotation {ANNOTATION_TTL}: {exc}")
    return Marked(name, number, created, ttl, expires, "; ".join(problems) or None)
