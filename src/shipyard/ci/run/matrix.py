"""Matrix fan-out, as Tekton's ``Matrix.FanOut`` computes it: the cross product of ``matrix.params`` (the
first param varies fastest), then each ``include`` merged into every combination it does not contradict, or
added as a combination of its own when it shares no value with any of them."""

from __future__ import annotations

Combination = dict[str, str]


def fan_out(params: list[tuple[str, list[str]]], include: list[Combination]) -> list[Combination]:
    """The combinations, one TaskRun each, in Tekton's order."""
    if include and not params:
        return [dict(c) for c in include]
    combos: list[Combination] = []
    for name, values in params:
        # The first param's values start the list; each later one repeats the whole list per value.
        combos = [{**c, name: v} for v in values for c in combos] if combos else [{name: v} for v in values]
    for combo in combos:
        for extra in include:
            if all(combo.get(k, v) == v for k, v in extra.items()):
                combo.update(extra)
    for extra in include:
        if _is_new(combos, extra):
            combos.append(dict(extra))
    return combos


def _is_new(combos: list[Combination], extra: Combination) -> bool:
    # shouldAddNewCombination: an include is its own combination unless some combination already has one of
    # its values (the comparison also sees includes added before it).
    if not extra:
        return False
    return not any(combo.get(k) == v for combo in combos for k, v in extra.items() if k in combo)
