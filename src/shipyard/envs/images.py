"""Editing the promotable state: the ``images:`` of ``overlays/<env>/kustomization.yaml``.

The file belongs to the user as much as to Shipyard (render seeds it once, people comment it), so it is
edited with a round-trip parser: comments, key order, quoting and indentation stay as they were, and only
the entries of the promoted images change (pinned by digest, as Kargo's ``kustomize-set-image`` does).
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Mapping
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from shipyard.errors import ShipyardError


def overlay_path(env: str) -> str:
    """The environment's top kustomization, relative to the config repo."""
    return f"overlays/{env}/kustomization.yaml"


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
        key = re.match(r"^( *)[^\s#-][^:]*:\s*(#.*)?$", before)
        dash = re.match(r"^( *)- ", line)
        if key and dash:
            return max(0, len(dash.group(1)) - len(key.group(1)))
    return 2


def seed_text(env: str) -> str:
    """A new top kustomization when render has not created one (the layout of INTERFACES: generated + images)."""
    return (
        f"# The promotable state of {env}: promotions (shipyard promote, Kargo's kustomize-set-image)\n"
        "# and the sandbox sync edit `images:` here.\n"
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "resources:\n"
        "  - generated\n"
        "images: []\n"
    )


def set_images(path: Path, env: str, images: Mapping[str, str]) -> bool:
    """Pin ``images`` (repository -> digest) in the kustomization at ``path``; True when the file changed.

    An entry's ``newTag`` gives way to ``digest``; images not named keep their entries; a missing file
    is created first.
    """
    original = path.read_text(encoding="utf-8") if path.exists() else seed_text(env)
    yaml = _yaml(original)
    try:
        document = yaml.load(original)
    except YAMLError as exc:
        raise ShipyardError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(document, CommentedMap):
        raise ShipyardError(f"{path}: expected a Kustomization mapping")
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
        if "newTag" in entry:
            del entry["newTag"]
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
    document = _yaml().load(path.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for entry in (document or {}).get("images") or []:
        if isinstance(entry, dict) and entry.get("digest"):
            found[str(entry["name"])] = str(entry["digest"])
    return found
