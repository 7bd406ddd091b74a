"""The promotable state of each environment: the ``images:`` of the Kustomize Component
``overlays/<env>/images/kustomization.yaml``, which the overlay of every service of that environment includes
(one Argo CD Application per service and environment builds one such overlay).

Render creates the file once and never rewrites it; promotions (local, or Kargo's ``kustomize-set-image``)
and the sandbox sync edit only it, so a promotion is one commit per stage however many services move. It starts
empty: a service whose image it does not pin runs nothing (see ``k8s.kustomize.UNPROMOTED_DIGEST``), never a
moving tag. The file belongs to the user as much as to Shipyard (people comment it), so it is edited with a
round-trip parser: comments, key order, quoting and indentation stay as they were, and only the entries of the
images that move change.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from shipyard.errors import ShipyardError
from shipyard.k8s.kustomize import Component, Image
from shipyard.k8s.yaml import dump

KUSTOMIZATION = "kustomization.yaml"
PROMOTABLE = "images"
"""The promotable Component's folder in each environment's overlay folder."""
SEEDED = re.compile(rf"overlays/[^/\n]+/{PROMOTABLE}/kustomization\.yaml")
"""The promotable files, relative to the config repo: render creates them once and never rewrites them."""


def overlay_dir(env: str) -> str:
    """The environment's overlay folder, relative to the config repo."""
    return f"overlays/{env}"


def promotable_dir(env: str) -> str:
    """The folder of the environment's promotable Component (what ``kustomize-set-image`` is pointed at)."""
    return f"{overlay_dir(env)}/{PROMOTABLE}"


def promotable_path(env: str) -> str:
    """The environment's promotable file, relative to the config repo."""
    return f"{promotable_dir(env)}/{KUSTOMIZATION}"


def _yaml(text: str = "") -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    offset = _sequence_offset(text)
    yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
    return yaml


def _sequence_offset(text: str) -> int:
    """How far the file indents a list's dashes under their key (0 as PyYAML writes, 2 as many people do).

    The round-trip parser keeps comments and order but applies one indentation to the whole file, so
    it has to be the file's own.
    """
    lines = text.splitlines()
    for before, line in itertools.pairwise(lines):
        key = re.fullmatch(r"( *)[^\s#-][^:]*:\s*(#.*)?", before)
        dash = re.match(r"^( *)- ", line)
        if key and dash:
            return max(0, len(dash.group(1)) - len(key.group(1)))
    return 2


def seed_text(images: Sequence[Image] = ()) -> str:
    """The first version of an environment's promotable state: a Component pinning ``images`` (none, as render
    creates it: a service runs nothing there until a promotion pins its digest)."""
    return (
        "# The promotable state of this environment, included by the overlay of each of its services.\n"
        "# Promotions (shipyard promote, Kargo's kustomize-set-image) and the sandbox sync pin digests\n"
        "# in `images:`; a service not pinned here runs nothing.\n"
        "# shipyard render created this file and never rewrites it.\n" + dump(Component(images=list(images)).to_dict())
    )


def set_images(path: Path, images: Mapping[str, str]) -> bool:
    """Pin ``images`` (repository -> digest) in the promotable file at ``path``; True when the file changed.

    An entry's ``newTag`` and ``newName`` give way to ``digest``, as Kargo's ``kustomize-set-image`` replaces
    an entry whole; images not named keep their entries; a missing file is created first.
    """
    original = path.read_text(encoding="utf-8") if path.exists() else seed_text()
    yaml = _yaml(original)
    try:
        document = yaml.load(original)
    except YAMLError as exc:
        raise ShipyardError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(document, CommentedMap):
        raise ShipyardError(f"{path}: expected a Kustomize Component (a mapping)")
    entries = document.get("images")
    if entries is None or (isinstance(entries, CommentedSeq) and not entries and entries.fa.flow_style()):
        # `images: []` (or none yet): start a block list, the form people edit.
        entries = CommentedSeq()
        document["images"] = entries
    if not isinstance(entries, CommentedSeq):
        raise ShipyardError(f"{path}: 'images' must be a list of {{name, digest}} entries")
    for name, digest in images.items():
        entry = next((e for e in entries if isinstance(e, CommentedMap) and e.get("name") == name), None)
        if entry is None:
            entries.append(CommentedMap([("name", name), ("digest", digest)]))
            continue
        for key in ("newName", "newTag"):
            if key in entry:
                del entry[key]
        entry["digest"] = digest
    out = io.StringIO()
    yaml.dump(document, out)
    text = out.getvalue()
    if path.exists() and text == original:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def read_images(path: Path) -> dict[str, str]:
    """repository -> digest of the pinned images in a kustomization (tags are left out)."""
    if not path.exists():
        return {}
    return {e["name"]: e["digest"] for e in read_entries(path.read_text(encoding="utf-8")) if e.get("digest")}


def read_entries(text: str) -> list[dict[str, str]]:
    """The ``images:`` entries of a kustomization, as plain dicts."""
    data = _yaml(text).load(text) or {}
    return [
        {str(k): str(v) for k, v in entry.items()}
        for entry in data.get("images") or []
        if isinstance(entry, dict) and entry.get("name")
    ]


@dataclass(frozen=True)
class ImageChange:
    """One image entry of a mirrored overlay: its reference before and after."""

    name: str
    before: str | None
    after: str | None

    def line(self) -> str:
        """``before -> after`` as people read it."""
        return f"{self.before or '(none)'} -> {self.after or '(removed)'}"


def _reference(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return None
    if entry.get("digest"):
        return f"digest {entry['digest']}"
    if entry.get("newTag") is not None:
        return f"tag {entry['newTag']}"
    return None


def mirror_images(source_text: str, target_text: str | None, *, fresh: bool = False) -> tuple[str, list[ImageChange]]:
    """The target kustomization with exactly the source's image references, edited in place.

    Comments, key order and entries' other keys survive; entries the source does not run are removed.
    ``fresh`` drops every existing entry first (the sandbox's reset wipes manual experiments).
    """
    yaml = _yaml(target_text or "")
    source = yaml.load(source_text) or {}
    wanted = [entry for entry in source.get("images") or [] if isinstance(entry, dict) and entry.get("name")]
    document = yaml.load(target_text or seed_text())
    if not isinstance(document, CommentedMap):
        document = yaml.load(seed_text())
    images = document.get("images")
    if not isinstance(images, CommentedSeq) or (not images and images.fa.flow_style()):
        # None yet, or the seed's `images: []`: a block list, the form people edit.
        images = CommentedSeq()
        document["images"] = images
    before = {str(e.get("name")): _reference(e) for e in images if isinstance(e, dict)}
    if fresh:
        del images[:]
    names = {str(entry["name"]) for entry in wanted}
    for index in reversed(range(len(images))):
        if not isinstance(images[index], dict) or str(images[index].get("name")) not in names:
            del images[index]
    existing = {str(entry["name"]): entry for entry in images}
    for entry in wanted:
        name = str(entry["name"])
        target = existing.get(name)
        if target is None:
            target = CommentedMap([("name", name)])
            images.append(target)
        for key in ("newName", "newTag", "digest"):
            if key in entry:
                target[key] = entry[key]
            elif key in target:
                del target[key]
    after = {str(e["name"]): _reference(e) for e in images}
    changes = [
        ImageChange(name, before.get(name), after.get(name))
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue(), changes
