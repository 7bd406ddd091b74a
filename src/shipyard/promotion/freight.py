"""Freight: the artifacts of one version (every built service's image digest, the packages' versions)
that move together from stage to stage.

A freight is recorded in the config repo as ``freight/<version>.yaml``, so it survives restarts and
anyone with the repo can read it. Its id is a hash of its content (as Kargo names Freight by a hash of
its artifacts), so the same images and packages always give the same id; the version is its alias.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from shipyard.errors import ShipyardError
from shipyard.k8s.yaml import dump
from shipyard.packages.publish import NPM_NAME
from shipyard.plan import Plan
from shipyard.spec.model import pr_number_problem
from shipyard.versioning.semver import Version
from shipyard.versioning.tags import parse_tag, split_tag, try_parse_tag

FREIGHT_DIR = "freight"
_COMMIT = re.compile(r"[0-9a-fA-F]{7,64}", re.ASCII)
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# pydantic checks the pattern with Rust's regex, where `$` is the end of the text.
Digest = Annotated[str, Field(pattern=rf"^{DIGEST.pattern}$")]
EMAIL = re.compile(r"[^@\s<>,;:\"]+@[^@\s<>,;:\"]+")
Email = Annotated[str, Field(pattern=rf"^{EMAIL.pattern}$", max_length=254)]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class FreightImage(_Model):
    """One service's image in a freight, pinned by digest."""

    image: str
    digest: Digest


class Freight(_Model):
    """The artifacts of one version, as recorded in ``freight/<version>.yaml``."""

    api_version: Literal["shipyard.dev/v1alpha1"] = "shipyard.dev/v1alpha1"
    kind: Literal["Freight"] = "Freight"
    id: str
    version: str
    source_commit: str | None = None
    authors: list[Email] | None = None
    """The emails of the source commit's author and co-authors: who may not approve it (four-eyes)."""
    pr: int | None = None
    images: dict[str, FreightImage] = Field(default_factory=dict)
    packages: dict[str, str] = Field(default_factory=dict)

    @field_validator("version")
    @classmethod
    def _semver(cls, version: str) -> str:
        problem = version_problem(version)
        if problem:
            raise ValueError(problem)
        return version

    @field_validator("source_commit")
    @classmethod
    def _commit(cls, commit: str | None) -> str | None:
        # It becomes the Shipyard-Source-Commit trailer: a line break would write a trailer of its own.
        if commit is not None and not _COMMIT.fullmatch(commit):
            raise ValueError(f"{commit[:80]!r} is not a commit id (7 to 64 hexadecimal digits)")
        return commit

    @field_validator("pr")
    @classmethod
    def _pr(cls, pr: int | None) -> int | None:
        problem = None if pr is None else pr_number_problem(pr)
        if problem:
            raise ValueError(problem)
        return pr

    @field_validator("packages")
    @classmethod
    def _packages(cls, packages: dict[str, str]) -> dict[str, str]:
        for name, version in packages.items():
            if not NPM_NAME.fullmatch(name) or Version.try_parse(version, prefix="") is None:
                raise ValueError(f"{name[:80]!r}={version[:40]!r} is not an npm package name and a SemVer version")
        return packages

    @property
    def semver(self) -> Version:
        """The version, parsed."""
        return parse_tag(self.version)

    @property
    def maturity(self) -> str | None:
        """alpha, beta or stable."""
        return self.semver.maturity

    @property
    def short_id(self) -> str:
        """The first 12 characters of the id, as people read it."""
        return self.id[:12]

    def to_yaml(self) -> str:
        """The freight file's text (deterministic)."""
        return dump(self.model_dump(mode="json", by_alias=True, exclude_none=True))

    def to_json(self) -> dict[str, Any]:
        """The freight as JSON data (the file's keys, nulls included)."""
        return self.model_dump(mode="json", by_alias=True)


@dataclass(frozen=True)
class Recorded:
    """What ``freight add`` did (or would do): the freight, the plan and the pushed commit (None: none)."""

    freight: Freight
    plan: Plan
    commit: str | None

    def to_json(self) -> dict[str, Any]:
        """For JSON output (documented in docs/promotion.md)."""
        return {"freight": self.freight.to_json(), "commit": self.commit, "plan": self.plan.to_json()}


def version_problem(version: str, prefix: str | None = None) -> str | None:
    """Why ``version`` is not a release version Shipyard promotes, or None.

    Only the three forms of the versioning rules move through the stages (alpha with its 14-digit UTC
    timestamp, beta with its counter, stable): the same tags the Kargo Warehouses of render select.
    ``prefix`` is the platform's ``versioning.tag_prefix``; None (reading a recorded freight) accepts any.
    """
    lead = "v" if prefix is None else prefix
    forms = f"{lead}X.Y.Z-alpha.<yyyymmddHHMMSS>, {lead}X.Y.Z-beta.N or {lead}X.Y.Z"
    found = split_tag(version)
    if found is None:
        return f"'{version}' is not a version such as {lead}1.2.0-beta.1"
    tag_prefix, parsed = found
    if prefix is not None and tag_prefix != prefix:
        return f"'{version}' does not start with the tag prefix '{prefix}' of versioning.tag_prefix; e.g. {prefix}1.2.0"
    if parsed.build:
        return f"'{version}' carries build metadata; freight versions are {forms}"
    pre = parsed.prerelease
    if not pre:
        return None
    if len(pre) == 2 and isinstance(pre[1], int):
        if pre[0] == "alpha" and len(str(pre[1])) == 14:
            return None
        if pre[0] == "beta":
            return None
    return f"'{version}' is not a release version; freight versions are {forms}"


def freight_id(images: dict[str, FreightImage], packages: dict[str, str]) -> str:
    """A stable hash of the freight's content: sorted service digests and package versions."""
    content = {
        "images": {name: f"{img.image}@{img.digest}" for name, img in sorted(images.items())},
        "packages": dict(sorted(packages.items())),
    }
    return hashlib.sha1(json.dumps(content, sort_keys=True).encode(), usedforsecurity=False).hexdigest()


def make_freight(
    version: str,
    images: dict[str, FreightImage],
    packages: dict[str, str] | None = None,
    source_commit: str | None = None,
    pr: int | None = None,
    prefix: str = "v",
    authors: list[str] | None = None,
) -> Freight:
    """A freight of ``version``; refuses an empty one and a version that is not ``prefix`` + SemVer.

    ``authors`` are the emails of the source commit's author and co-authors (kept lower-case, sorted)."""
    problem = version_problem(version, prefix)
    if problem:
        raise ShipyardError(f"--version {problem}")
    if not images and not packages:
        raise ShipyardError(
            f"freight {version} would be empty",
            hint="name images with --image SERVICE=sha256:..., or use --from-registry",
        )
    packages = packages or {}
    for email in authors or []:
        if not EMAIL.fullmatch(email) or len(email) > 254:
            raise ShipyardError(f"--author '{email}' is not an email such as dana@acme.example.com")
    try:
        return Freight(
            id=freight_id(images, packages),
            version=version,
            source_commit=source_commit,
            authors=sorted({email.casefold() for email in authors}) if authors else None,
            pr=pr,
            images=images,
            packages=packages,
        )
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        flag = {"source_commit": "--source-commit", "pr": "--pr", "packages": "--package"}.get(str(first["loc"][0]))
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ShipyardError(f"{flag or first['loc'][0]}: {message}") from None


def freight_path(version: str) -> str:
    """Where a version's freight lives in the config repo."""
    return f"{FREIGHT_DIR}/{version}.yaml"


def load_freight(path: Path) -> Freight:
    """Read one freight file; a damaged file is reported by name."""
    from shipyard.bounded import MIB, InputError, read_yaml

    try:
        return Freight.model_validate(read_yaml(path, MIB, str(path)))
    except (InputError, ValidationError) as exc:
        raise ShipyardError(f"{path}: not a valid freight file: {exc}") from None


def all_freight(checkout: Path) -> list[Freight]:
    """Every freight recorded in a config repo checkout, lowest version first."""
    folder = checkout / FREIGHT_DIR
    found = [load_freight(p) for p in sorted(folder.glob("*.yaml"))] if folder.is_dir() else []
    return sorted(found, key=lambda f: f.semver)


def find_freight(checkout: Path, *, freight: str | None = None, version: str | None = None) -> Freight:
    """The freight with id (or unique id prefix) ``freight``, or of ``version``."""
    known = all_freight(checkout)
    if version is not None:
        wanted = try_parse_tag(version)
        for item in known:
            if wanted is not None and item.semver == wanted:
                return item
        raise ShipyardError(
            f"no freight for version {version} in the config repo",
            hint="record it first with `shipyard freight add --version ...`",
        )
    matches = [item for item in known if freight and item.id.startswith(freight)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ShipyardError(f"no freight with id {freight} in the config repo")
    raise ShipyardError(f"freight id {freight} is ambiguous: {', '.join(m.short_id for m in matches)}")


def parse_image_option(text: str, image_of: dict[str, str]) -> tuple[str, FreightImage]:
    """``SERVICE=sha256:...`` as given to ``--image``; ``image_of`` maps services to their repositories."""
    service, sep, digest = text.partition("=")
    if not sep or not DIGEST.fullmatch(digest):
        raise ShipyardError(f"--image '{text}' must be SERVICE=sha256:<64 hex digits>")
    if service not in image_of:
        raise ShipyardError(f"--image '{text}': no service '{service}'; valid: {', '.join(sorted(image_of))}")
    return service, FreightImage(image=image_of[service], digest=digest)
