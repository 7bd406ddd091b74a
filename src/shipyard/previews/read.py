"""Reading previews from the config repo: a directory's Namespace as a clean-up candidate, from the work
tree or straight from git's objects, and a directory as ``preview list`` shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from shipyard.bounded import MIB, InputError, read_text
from shipyard.git import Git
from shipyard.k8s.yaml import load_all
from shipyard.previews.fastyaml import read_namespace
from shipyard.previews.gc import Candidate
from shipyard.previews.marks import NamePattern, protected_namespaces, read_marks
from shipyard.spec.model import Platform
from shipyard.times import format_rfc3339

PREVIEWS = "previews"
MAX_PREVIEW_FILE = 1 * MIB
"""The size limit of a file of a preview directory; Shipyard writes a few KiB. A larger one is not read."""


def directory_candidate(directory: Path) -> Candidate:
    """A clean-up candidate from a preview directory of a work tree."""
    try:
        text: str | None = read_text(directory / "namespace.yaml", MAX_PREVIEW_FILE)
    except InputError:
        text = None
    return namespace_candidate(directory.name, text)


def namespace_candidate(name: str, text: str | None) -> Candidate:
    """A clean-up candidate from a preview directory's name and its ``namespace.yaml`` text (None: absent)."""
    if text is None:
        return Candidate(name, None, None, problem="no readable namespace.yaml")
    fast = read_namespace(text)
    try:
        documents = [fast] if fast is not None else load_all(text, f"{PREVIEWS}/{name}/namespace.yaml")
    except InputError as exc:  # not YAML, or over the limits: the entry is unreadable, so it is skipped
        return Candidate(name, None, None, problem=f"namespace.yaml is not readable: {exc.message}")
    namespace = next((d for d in documents if isinstance(d, dict) and d.get("kind") == "Namespace"), None)
    metadata = namespace.get("metadata") if namespace else None
    if not isinstance(metadata, dict):
        return Candidate(name, None, None, problem="namespace.yaml holds no Namespace")
    if metadata.get("name") != name:
        return Candidate(name, None, None, problem=f"the Namespace is named {metadata.get('name')!r}, not {name!r}")
    return Candidate(name, metadata.get("labels"), metadata.get("annotations"))


def committed_directories(checkout: Path, rev: str | None) -> set[str] | None:
    """The preview directories committed at ``rev``; None when there is no ``rev`` or no ``previews/`` folder at it."""
    if rev is None:
        return None
    git = Git(checkout)
    if not git.has_ref(rev) or not git.run("ls-tree", "-d", "--end-of-options", rev, "--", PREVIEWS).strip():
        return None
    return {c.name for c in read_committed_candidates(checkout, rev)}


def read_committed_candidates(checkout: Path, rev: str = "HEAD") -> list[Candidate]:
    """Every directory under ``previews/`` at ``rev`` as a clean-up candidate, read from git's objects.

    Nothing is written to disk: one ``ls-tree`` lists the directories and one ``cat-file --batch`` reads
    every ``namespace.yaml``, so deciding over thousands of previews needs no checkout at all.
    """
    git = Git(checkout)
    if not git.has_ref(rev):
        return []
    listing = git.run("ls-tree", "-r", "-z", "--long", "--end-of-options", rev, "--", f"{PREVIEWS}/").split("\0")
    directories: set[str] = set()
    blobs: dict[str, str] = {}
    for entry in listing:
        info, _, path = entry.partition("\t")
        parts = path.split("/")
        if len(parts) < 3:
            continue
        directories.add(parts[1])
        fields = info.split()  # mode, type, object, size
        is_namespace = len(parts) == 3 and parts[2] == "namespace.yaml" and fields[1:2] == ["blob"]
        # A blob over the limit is never read: the entry stays "no readable namespace.yaml".
        if is_namespace and fields[3].isdigit() and int(fields[3]) <= MAX_PREVIEW_FILE:
            blobs[parts[1]] = fields[2]
    texts = _read_blobs(git, [blobs[d] for d in sorted(blobs)])
    by_name = dict(zip(sorted(blobs), texts, strict=True))
    return [namespace_candidate(d, by_name.get(d)) for d in sorted(directories)]


def _read_blobs(git: Git, oids: list[str]) -> list[str | None]:
    """The text of each blob, in order (None where it is not UTF-8), through one ``cat-file --batch``."""
    found = git.read_objects(oids)
    texts: list[str | None] = []
    for oid in oids:
        obj = found.get(oid)
        try:
            texts.append(obj[1].decode("utf-8") if obj is not None else None)
        except UnicodeDecodeError:
            texts.append(None)
    return texts


def preview_marks(platform: Platform) -> tuple[NamePattern, frozenset[str]]:
    """The preview name pattern and the protected namespaces of a platform."""
    protected = protected_namespaces([e.ns for e in platform.environments] + [platform.sandbox.namespace])
    return NamePattern(platform.preview.namespace), protected


@dataclass
class PreviewInfo:
    """One preview as ``preview list`` shows it."""

    name: str
    number: int | None
    services: list[str]
    tag: str | None
    urls: dict[str, str]
    created_at: datetime | None
    ttl: str | None
    expires_at: datetime | None
    now: datetime
    problem: str | None = None

    @property
    def age_seconds(self) -> int | None:
        """Seconds since creation."""
        return int((self.now - self.created_at).total_seconds()) if self.created_at else None

    @property
    def expired(self) -> bool | None:
        """True when the TTL has run out; None when unreadable."""
        return self.expires_at <= self.now if self.expires_at else None

    def to_json(self) -> dict[str, Any]:
        """For JSON output."""
        return {
            "name": self.name,
            "pr": self.number,
            "services": self.services,
            "tag": self.tag,
            "urls": self.urls,
            "createdAt": format_rfc3339(self.created_at) if self.created_at else None,
            "ttl": self.ttl,
            "ageSeconds": self.age_seconds,
            "expiresAt": format_rfc3339(self.expires_at) if self.expires_at else None,
            "expired": self.expired,
            "problem": self.problem,
        }


def _read_yaml(path: Path) -> list[Any]:
    try:
        return load_all(read_text(path, MAX_PREVIEW_FILE), str(path))
    except InputError:  # an unreadable file shows up as missing data in the listing, not as a crash
        return []


def preview_info(directory: Path, platform: Platform, now: datetime) -> PreviewInfo:
    """One preview directory of a work tree, with age, expiry and URLs."""
    names, protected = preview_marks(platform)
    candidate = directory_candidate(directory)
    marked = candidate.problem or read_marks(candidate.name, candidate.labels, candidate.annotations, names, protected)
    kustomization: Any = next(iter(_read_yaml(directory / "kustomization.yaml")), {})
    resources = kustomization.get("resources", []) if isinstance(kustomization, dict) else []
    services = sorted(r.rsplit("/", 1)[-1] for r in resources if isinstance(r, str) and r.startswith("../../base/"))
    images = kustomization.get("images", []) if isinstance(kustomization, dict) else []
    tag = next((i.get("newTag") for i in images if isinstance(i, dict) and i.get("newTag")), None)
    urls: dict[str, str] = {}
    for ingress in _read_yaml(directory / "ingress.yaml"):
        for rule in (ingress.get("spec") or {}).get("rules", []) if isinstance(ingress, dict) else []:
            backend = (((rule.get("http") or {}).get("paths") or [{}])[0].get("backend") or {}).get("service") or {}
            if rule.get("host") and backend.get("name"):
                urls[str(backend["name"])] = f"https://{rule['host']}"
    if isinstance(marked, str):
        return PreviewInfo(
            directory.name, None, services, tag, urls, None, None, None, now, f"not Shipyard's: {marked}"
        )
    ttl = (candidate.annotations or {}).get("shipyard.dev/ttl")
    return PreviewInfo(
        directory.name,
        marked.number,
        services,
        tag,
        urls,
        marked.created_at,
        ttl if isinstance(ttl, str) else None,
        marked.expires_at,
        now,
        marked.problem,
    )
