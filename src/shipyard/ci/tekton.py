"""``ci render``'s comparison: which files of the rendered ``tekton/`` differ from the monorepo's."""

from __future__ import annotations

from pathlib import Path

from shipyard.plan import Op, Plan

COMMAND = "shipyard ci render"


def stale_files(app_dir: Path, files: dict[str, str]) -> list[str]:
    """The rendered paths whose file in ``app_dir`` is missing or differs, in render order."""
    return [p for p, text in files.items() if not (app_dir / p).is_file() or (app_dir / p).read_text() != text]


def tekton_plan(app_dir: Path, files: dict[str, str], stale: list[str]) -> Plan:
    """The writes a render makes: create the missing files, update the others that differ."""
    plan = Plan(command=COMMAND)
    for path in stale:
        plan.add(Op.update if (app_dir / path).is_file() else Op.create, path)
    plan.notes.append(f"{len(files) - len(stale)} of {len(files)} files up to date")
    return plan
