"""A replay of how Kargo decides which Freight a Stage may take, over plain Kargo objects (dicts).

Written from Kargo's documented behaviour, for the equivalence tests of the local promotion executor:

- a Warehouse image subscription with ``imageSelectionStrategy: SemVer`` considers only tags that parse
  as semantic versions (a leading ``v`` allowed), that match one of ``allowTagsRegexes`` and none of
  ``ignoreTagsRegexes``, and that satisfy ``constraint`` (Masterminds rules: a prerelease satisfies a
  constraint only when the constraint itself names a prerelease); the newest by SemVer wins;
- a Warehouse with ``freightCreationPolicy: Automatic`` makes Freight, after each discovery, of the newest
  tag of every subscription, chosen independently, and only when its ``freightCreationCriteria``
  expression holds over those newest tags (``pkg/controller/warehouses``); the expression is run by
  ``tests/exprlang.py`` with ``imageFrom(repoURL)`` giving each subscription's newest tag;
- a Stage's ``requestedFreight`` names the origin Warehouses and the sources: ``direct`` (any Freight
  of that Warehouse) and/or ``stages`` (Freight verified in one of those Stages).

``discoveryLimit`` bounds how many tags one discovery looks at, not which Freight exists (a Warehouse
creates Freight as new tags appear), so the replay, which sees a whole history at once, ignores it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shipyard.versioning.semver import Version
from tests.exprlang import evaluate

_TERM = re.compile(r"(>=|<=|!=|==|>|<|=)?\s*v?(\d[^\s,|]*)")


def satisfies(version: Version, constraint: str | None) -> bool:
    """Does ``version`` meet a Masterminds-style constraint (``,`` or space means and, ``||`` or)?"""
    if not constraint:
        return True
    return any(_all(version, part) for part in constraint.split("||"))


def _all(version: Version, conjunction: str) -> bool:
    terms = _TERM.findall(conjunction)
    if not terms:
        raise ValueError(f"constraint '{conjunction}' is not understood by the replay")
    if version.prerelease and not any("-" in bound for _, bound in terms):
        return False
    for op_text, bound_text in terms:
        op, bound = op_text or "=", Version.parse(bound_text, prefix="")
        ok = {
            ">=": version >= bound,
            "<=": version <= bound,
            ">": version > bound,
            "<": version < bound,
            "=": version == bound,
            "==": version == bound,
            "!=": version != bound,
        }[op]
        if not ok:
            return False
    return True


def selects(subscription: Mapping[str, Any], tag: str) -> bool:
    """Would this image subscription consider ``tag``?"""
    if subscription.get("imageSelectionStrategy", "SemVer") != "SemVer":
        raise ValueError("the replay covers the SemVer selection strategy only")
    version = Version.try_parse(tag, prefix="v") or Version.try_parse(tag, prefix="")
    if version is None:
        return False
    allow = subscription.get("allowTagsRegexes") or []
    ignore = subscription.get("ignoreTagsRegexes") or []
    if allow and not any(re.search(p, tag) for p in allow):
        return False
    if any(re.search(p, tag) for p in ignore):
        return False
    return satisfies(version, subscription.get("constraint"))


def newest(subscription: Mapping[str, Any], tags: Iterable[str]) -> str | None:
    """The tag a discovery picks: the highest selected version."""
    chosen = [t for t in tags if selects(subscription, t)]
    return max(chosen, key=lambda t: Version.try_parse(t, "v") or Version.parse(t, "")) if chosen else None


@dataclass(frozen=True)
class KargoFreight:
    """A Freight as the replay knows it: its origin Warehouse and the version tag of its images."""

    origin: str
    version: str


def warehouse_freight(warehouse: Mapping[str, Any], tags_by_repo: Mapping[str, set[str]]) -> set[KargoFreight]:
    """Every Freight the Warehouse creates over the history: each version tag its subscriptions select.

    A version makes Freight when the selection of every subscription whose repository carries the tag
    accepts it (the images of one version, built once).
    """
    name = warehouse["metadata"]["name"]
    subscriptions = [s["image"] for s in warehouse["spec"]["subscriptions"]]
    versions = {t for s in subscriptions for t in tags_by_repo.get(s["repoURL"], set())}
    found = set()
    for tag in versions:
        carriers = [s for s in subscriptions if tag in tags_by_repo.get(s["repoURL"], set())]
        if carriers and all(selects(s, tag) for s in carriers):
            found.add(KargoFreight(origin=name, version=tag))
    return found


def stage_eligible(
    stage: Mapping[str, Any],
    freight: set[KargoFreight],
    verified: Mapping[str, set[str]],
) -> set[KargoFreight]:
    """The Freight a Stage may take: of a requested origin, direct or verified in a source Stage.

    ``verified`` maps a stage name to the versions verified there.
    """
    eligible = set()
    for request in stage["spec"]["requestedFreight"]:  # one request per Warehouse it takes from
        origin = request["origin"]["name"]
        sources = request.get("sources") or {}
        for item in freight:
            if item.origin != origin:
                continue
            upstream = sources.get("stages") or []
            if sources.get("direct") or any(item.version in verified.get(s, set()) for s in upstream):
                eligible.add(item)
    return eligible


@dataclass(frozen=True)
class DiscoveredFreight:
    """Freight a Warehouse made automatically: its origin and the tag of each subscription's image."""

    origin: str
    tags: tuple[tuple[str, str], ...]
    """(repoURL, tag) per subscription."""

    @property
    def versions(self) -> set[str]:
        """The distinct versions the freight's images carry (one, for freight of one version)."""
        return {tag for _, tag in self.tags}


def criteria_hold(warehouse: Mapping[str, Any], newest_tags: Mapping[str, str]) -> bool:
    """Would Kargo make freight of these newest tags (``freightCreationCriteria``, when set)?"""
    criteria = (warehouse["spec"].get("freightCreationCriteria") or {}).get("expression", "").strip()
    if not criteria:
        return True
    images = {repo: {"Tag": tag} for repo, tag in newest_tags.items()}
    result = evaluate(criteria, {"imageFrom": lambda repo_url: images.get(repo_url)})
    assert isinstance(result, bool), f"freightCreationCriteria gave {result!r}, not a bool"
    return result


def automatic_freight(warehouse: Mapping[str, Any], pushes: Iterable[tuple[str, str]]) -> list[DiscoveredFreight]:
    """The Freight the Warehouse makes while ``pushes`` ((repoURL, tag), in order) reach the registry, with a
    discovery after every push (the worst case: one between two services of the same version)."""
    assert warehouse["spec"].get("freightCreationPolicy", "Automatic") == "Automatic"
    subscriptions = [s["image"] for s in warehouse["spec"]["subscriptions"]]
    seen: dict[str, set[str]] = {s["repoURL"]: set() for s in subscriptions}
    made: list[DiscoveredFreight] = []
    for repo, tag in pushes:
        if repo not in seen:
            continue
        seen[repo].add(tag)
        newest_tags = {s["repoURL"]: newest(s, seen[s["repoURL"]]) for s in subscriptions}
        if any(t is None for t in newest_tags.values()):
            continue  # a subscription with nothing discovered: no freight can be built
        found = {r: t for r, t in newest_tags.items() if t is not None}
        if criteria_hold(warehouse, found):
            freight = DiscoveredFreight(warehouse["metadata"]["name"], tuple(sorted(found.items())))
            if freight not in made:
                made.append(freight)
    return made
