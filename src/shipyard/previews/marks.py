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
from datetime import UTC, datetime, timedelta

from shipyard.spec.duration import parse_duration
from shipyard.spec.model import MAX_PR_NUMBER

LABEL_PREVIEW = "shipyard.dev/preview"
ANNOTATION_MANAGED_BY = "shipyard.dev/managed-by"
ANNOTATION_PR = "shipyard.dev/pr-number"
ANNOTATION_CREATED = "shipyard.dev/created-at"
ANNOTATION_TTL = "shipyard.dev/ttl"
MANAGER = "shipyard"

# Namespaces no clean-up may ever match, whatever they carry; the environments' own are added per platform.
ALWAYS_PROTECTED = frozenset({"kube-system", "kube-public", "kube-node-lease", "default", "argocd"})

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,  # \d would otherwise accept any script's digits
)
_PR_NUMBER = re.compile(r"[1-9][0-9]{0,9}")


def format_rfc3339(moment: datetime) -> str:
    """A moment as RFC 3339 in UTC with a ``Z``, to the second (what the created-at annotation holds)."""
    if moment.tzinfo is None:
        raise ValueError("a timestamp needs a time zone")
    utc = moment.astimezone(UTC)
    # strftime's %Y does not pad years before 1000 on every platform; RFC 3339 needs four digits.
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}Z"


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (``T`` separator, offset or ``Z`` required) into an aware UTC datetime.

    Stricter than ``datetime.fromisoformat``: a date alone, a missing offset, the basic ISO format or a
    leap second are refused with ValueError, because a wrong reading here deletes a live preview.
    """
    match = _RFC3339.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"'{text}' is not an RFC 3339 timestamp such as 2024-11-14T15:30:45Z")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    if zulu:
        offset = timedelta(0)
    else:
        if int(off_h) > 23 or int(off_m) > 59:
            raise ValueError(f"'{text}' has an invalid UTC offset")
        offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (1 if sign == "+" else -1)
    try:
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=UTC)
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a valid date and time: {exc}") from None
    return local - offset


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
        except (ValueError, OverflowError) as exc:
            problems.append(f"annotation {ANNOTATION_TTL}: {exc}")
    expires: datetime | None = None
    if created is not None and ttl is not None:
        try:
            expires = created + ttl
        except OverflowError:
            problems.append(f"annotation {ANNOTATION_TTL}: '{ttl_text}' runs past the year 9999")
    return Marked(name, number, created, ttl, expires, "; ".join(problems) or None)
