"""A replay of how Kargo decides which Freight a Stage may take, over plain Kargo objects (dicts).

Written from Kargo's documented behaviour, for the equivalence tests of the local promotion executor:

- a Warehouse image subscription with ``imageSelectionStrategy: SemVer`` considers only tags that parse
  as semantic versions (a leading ``v`` allowed), that match one of ``allowTagsRegexes`` and none of
  ``ignoreTagsRegexes``, and that satisfy ``constraint`` (Masterminds rules: a prerelease satisfies a
  constraint only when the constraint itself names a prerelease); the newest by SemVer wins;
- a Stage's ``requestedFreight`` names the origin Warehouse and the sources: ``direct`` (any Freight
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
    for request in stage["spec"]["requestedFreight"]:
        origin = request["origin"]["name"]
        sources = request.get("sources") or {}
        for item in freight:
            if item.origin != origin:
                continue
            upstream = sources.get("stages") or []
            if sources.get("direct") or any(item.version in verified.get(s, set()) for s in upstream):
                eligible.add(item)
    return eligible
