"""Property tests: over thousands of previews and namespaces with arbitrary labels, annotations, names and
timestamps, the clean-up selects exactly what an independent reference predicate selects, up to the cap,
and never anything lacking one of Shipyard's marks.

Each example mixes a small, fully shrinkable list of hand-picked tricky entries with a bulk of thousands
generated from a random source seeded by hypothesis (drawing thousands of elements one by one would make
each example slow; the seeded bulk keeps every example reproducible).
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipyard.previews.gc import Candidate, plan_gc, plan_orphans
from shipyard.previews.marks import NamePattern, protected_namespaces
from shipyard.previews.prstate import PrStates

PROTECTED = protected_namespaces(["dev", "staging", "uat", "pre-prod", "production", "sandbox", "pr-5"])
NOW = datetime(2024, 11, 21, 12, 0, 0, tzinfo=UTC)

# The reference: the clean-up's rules (docs/previews.md) written again, independently of the code under test.
_REF_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})", re.IGNORECASE
)
_REF_TTL = re.compile(r"([0-9]+[smhdw])+")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def ref_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not _REF_TIME.fullmatch(value):
        return None
    text = value.upper().replace("Z", "+00:00")
    main, _, rest = text.partition(".")
    if rest:  # fromisoformat wants at most 6 fractional digits
        digits = re.match(r"[0-9]+", rest)
        assert digits
        text = main + "." + digits.group(0)[:6].ljust(6, "0") + rest[len(digits.group(0)) :]
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        return None


def ref_ttl(value: Any) -> timedelta | None:
    if not isinstance(value, str) or not _REF_TTL.fullmatch(value):
        return None
    seconds = sum(int(n) * _UNIT[u] for n, u in re.findall(r"([0-9]+)([smhdw])", value))
    try:
        return timedelta(seconds=seconds) if seconds > 0 else None
    except OverflowError:
        return None


def ref_marked(c: Candidate) -> int | None:
    """The PR number when ``c`` carries every mark and is not protected, else None."""
    labels = c.labels if isinstance(c.labels, dict) else {}
    notes = c.annotations if isinstance(c.annotations, dict) else {}
    found = re.fullmatch(r"pr-([1-9][0-9]{0,9})", c.name)
    if c.problem or c.name in PROTECTED or not found:
        return None
    if labels.get("shipyard.dev/preview") != "true" or notes.get("shipyard.dev/managed-by") != "shipyard":
        return None
    if notes.get("shipyard.dev/pr-number") != found.group(1):
        return None
    return int(found.group(1))


def ref_times(c: Candidate) -> tuple[datetime, datetime] | None:
    notes = c.annotations if isinstance(c.annotations, dict) else {}
    created, ttl = ref_time(notes.get("shipyard.dev/created-at")), ref_ttl(notes.get("shipyard.dev/ttl"))
    if created is None or ttl is None:
        return None
    try:
        return created, created + ttl
    except OverflowError:
        return None


def ref_gc(candidates: list[Candidate], states: dict[int, str]) -> list[tuple[datetime, int, str]]:
    selected = []
    for c in candidates:
        number, times = ref_marked(c), ref_times(c)
        if number is None or times is None:
            continue
        if times[1] <= NOW or states.get(number) == "closed":
            selected.append((times[0], number, c.name))
    return sorted(selected)


# Generators of values, good and bad alike.

NUMBER_TEXT = ["0", "007", "-1", "1e3", "", " 42", "٤٢"]
CREATED = [
    "2024-11-14T15:30:45Z",
    "2024-11-21T11:59:59Z",
    "2024-11-21T12:00:00Z",
    "2024-11-21T13:00:00+01:00",
    "2024-11-21T06:00:00.999999999-06:00",
    "2024-11-14",
    "2024-11-14T15:30:45",
    "20241114T153045Z",
    "2024-02-30T00:00:00Z",
    "2016-12-31T23:59:60Z",
    "yesterday",
    "9999-12-31T23:59:59Z",
    "",
]
TTLS = ["7d", "24h", "1h30m", "1s", "2w", "0d", "-1d", "7 days", "7D", "", "99999999999999d", "1d12h"]


def random_moment(rng: random.Random) -> str:
    moment = NOW + timedelta(seconds=rng.randint(-40 * 86400, 40 * 86400))
    offset = rng.choice([0, 0, 60, -330, 840])
    local = moment.astimezone(UTC) + timedelta(minutes=offset)
    suffix = "Z" if offset == 0 else f"{'+' if offset > 0 else '-'}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    return local.strftime("%Y-%m-%dT%H:%M:%S") + suffix


def maybe(rng: random.Random, good: Any, bad: list[Any], p_bad: float = 0.04) -> Any:
    """Mostly the good value; sometimes one of the bad ones (each mark goes wrong on its own)."""
    return rng.choice(bad) if rng.random() < p_bad else good


def random_candidate(rng: random.Random, index: int) -> Candidate:
    number = rng.randint(1, 100_000)
    name = maybe(
        rng, f"pr-{number}", [f"pr-0{number}", f"team-{number}", f"pr-{number}x{index}", "kube-system", "pr-5"], 0.06
    )
    labels: dict[str, Any] | None = {"shipyard.dev/preview": maybe(rng, "true", ["True", "false", "", "yes", None])}
    labels = maybe(rng, labels, [{"preview": "true"}, None, {}])  # the seed's label, which Shipyard never sets
    notes: dict[str, Any] = {
        "shipyard.dev/managed-by": maybe(rng, "shipyard", ["Shipyard", "argocd", None]),
        "shipyard.dev/pr-number": maybe(rng, str(number), [*NUMBER_TEXT, str(number + 1), None]),
        "shipyard.dev/created-at": maybe(rng, random_moment(rng), [*CREATED, None], 0.1),
        "shipyard.dev/ttl": maybe(rng, rng.choice(TTLS[:5]), [*TTLS, None], 0.1),
    }
    return Candidate(name, labels, {k: v for k, v in notes.items() if v is not None})


tricky = st.builds(
    lambda n, label, managed, pr, created, ttl: Candidate(
        f"pr-{n}",
        {"shipyard.dev/preview": label},
        {
            "shipyard.dev/managed-by": managed,
            "shipyard.dev/pr-number": pr if pr is not None else str(n),
            "shipyard.dev/created-at": created,
            "shipyard.dev/ttl": ttl,
        },
    ),
    st.integers(min_value=1, max_value=60),
    st.sampled_from(["true", "false", "TRUE"]),
    st.sampled_from(["shipyard", "other"]),
    st.one_of(st.none(), st.sampled_from(NUMBER_TEXT), st.text(max_size=4)),
    st.one_of(st.sampled_from(CREATED), st.text(max_size=25)),
    st.one_of(st.sampled_from(TTLS), st.text(alphabet="0123456789smhdw -", max_size=6)),
)


def unique(candidates: list[Candidate]) -> list[Candidate]:
    seen: dict[str, Candidate] = {}
    for c in candidates:
        seen.setdefault(c.name, c)
    return list(seen.values())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(tricky, max_size=30),
    st.integers(min_value=0, max_value=2**32),
    st.integers(min_value=500, max_value=3000),
    st.integers(min_value=0, max_value=400),
    st.dictionaries(st.integers(min_value=1, max_value=100_000), st.sampled_from(["open", "closed"]), max_size=300),
)
def test_gc_selects_exactly_the_reference_up_to_the_cap(
    picked: list[Candidate], seed: int, bulk: int, cap: int, states: dict[int, str]
) -> None:
    rng = random.Random(seed)
    candidates = unique(picked + [random_candidate(rng, i) for i in range(bulk)])
    rng.shuffle(candidates)
    # Make the states name many of the candidates' PRs too, so "closed" decides often.
    for candidate in candidates:
        number = candidate.name.removeprefix("pr-")
        if number.isdigit() and rng.random() < 0.3:
            states.setdefault(int(number), rng.choice(["open", "closed"]))
    report = plan_gc(
        candidates,
        now=NOW,
        max_deletions=cap,
        protected=PROTECTED,
        names=NamePattern(),
        pr_states=PrStates("test", states),
    )
    expected = ref_gc(candidates, states)
    chosen = [d.name for d in report.delete + report.deferred]
    assert sorted(chosen) == sorted(name for _, _, name in expected)
    assert [d.name for d in report.delete] == [name for _, _, name in expected[:cap]]
    assert len(report.delete) == min(cap, len(expected))
    by_name = {c.name: c for c in candidates}
    for decision in report.delete:
        candidate = by_name[decision.name]
        assert ref_marked(candidate) is not None, "deleted something lacking one of Shipyard's marks"
        assert candidate.name not in PROTECTED
        assert ref_times(candidate) is not None, "deleted something whose timestamps are unreadable"
    # Every entry is accounted for exactly once.
    assert len(report.delete) + len(report.deferred) + len(report.skipped) + len(report.kept) == len(candidates)


@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=500, max_value=3000))
def test_without_pr_states_only_expiry_counts(seed: int, bulk: int) -> None:
    rng = random.Random(seed)
    candidates = unique([random_candidate(rng, i) for i in range(bulk)])
    report = plan_gc(candidates, now=NOW, max_deletions=10**6, protected=PROTECTED, names=NamePattern())
    assert [d.name for d in report.delete] == [name for _, _, name in ref_gc(candidates, {})]
    assert all(d.reason == "expired" for d in report.delete)


@settings(max_examples=15, deadline=None)
@given(
    st.integers(min_value=0, max_value=2**32),
    st.integers(min_value=500, max_value=3000),
    st.integers(min_value=0, max_value=200),
    st.floats(min_value=0, max_value=1),
)
def test_orphans_are_exactly_the_marked_namespaces_without_a_directory(
    seed: int, bulk: int, cap: int, share: float
) -> None:
    rng = random.Random(seed)
    namespaces = unique([random_candidate(rng, i) for i in range(bulk)])
    namespaces = [
        Candidate(c.name, c.labels, c.annotations, terminating=rng.random() < 0.05, uid="u", resource_version="1")
        for c in namespaces
    ]
    directories = {c.name for c in namespaces if rng.random() < share} | {"pr-999999"}
    report = plan_orphans(namespaces, directories, now=NOW, max_deletions=cap, protected=PROTECTED, names=NamePattern())
    expected = sorted(
        (times[0], number, c.name)
        for c in namespaces
        if (number := ref_marked(c)) is not None
        and (times := ref_times(c)) is not None
        and c.name not in directories
        and not c.terminating
    )
    assert [d.name for d in report.delete] == [name for _, _, name in expected[:cap]]
    assert sorted(d.name for d in report.delete + report.deferred) == sorted(n for _, _, n in expected)
    by_name = {c.name: c for c in namespaces}
    for decision in report.delete:
        assert ref_marked(by_name[decision.name]) is not None, "an orphan lacking one of Shipyard's marks"
        assert decision.name not in directories and decision.name not in PROTECTED
