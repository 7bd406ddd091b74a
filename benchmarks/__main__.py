"""Run benchmarks: `python -m benchmarks` runs all, `python -m benchmarks NAME...` runs some.

Each benchmark is a subpackage of this folder with a `run(argv: list[str]) -> None` function in its
`__main__`-free module `bench.py`; it prints a table comparing Shipyard with its peer tool.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    here = Path(__file__).resolve().parent
    available = sorted(p.name for p in here.iterdir() if (p / "bench.py").is_file())
    names = [a for a in argv if not a.startswith("-")] or available
    unknown = sorted(set(names) - set(available))
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}")
    for name in names:
        print(f"== {name}")
        importlib.import_module(f"benchmarks.{name}.bench").run([a for a in argv if a.startswith("-")])


if __name__ == "__main__":
    main(sys.argv[1:])
