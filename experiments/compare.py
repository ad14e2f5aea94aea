"""Compare two result trees of ``make reproduce``: every ``metrics.json`` under OLD against NEW.

python -m experiments.compare OLD NEW [--rtol 1e-6] [--atol 1e-9]

Numbers must agree within float rounding (``rtol``/``atol``; the defaults sit far below any reported
digit and above the float32 → JSON round trip), strings, booleans and structure exactly. Ignored:
``job_key`` (a hash of the code) and the volatile keys (wall-clock times, cache counts: those that
``experiments.io`` keeps in ``run.json``; older trees may still hold some in ``metrics.json``). A key
that only NEW has is listed as ``added`` and is not a difference (new results may add keys; they may
not drop or change one). ``--skip /config`` leaves a subtree out (e.g. after a rename of config
keys; the measurements must still agree). Prints one line per difference (at most ``--show`` per file) and a summary;
exits 1 if anything differs or a job is missing from either tree.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from experiments.io import VOLATILE_KEYS

IGNORED_KEYS = frozenset({"job_key"}) | VOLATILE_KEYS
ADDED = "added in new"


def differences(
    a: Any, b: Any, rtol: float, atol: float, path: str = "", skip: frozenset[str] = frozenset()
) -> Iterator[str]:
    """Every place where ``a`` and ``b`` differ, as ``path: old -> new`` lines (``skip``: key
    paths such as ``/config`` left out, with everything under them)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k in IGNORED_KEYS or f"{path}/{k}" in skip:
                continue
            if k not in a or k not in b:
                yield f"{path}/{k}: {ADDED if k not in a else 'missing in new'}"
            else:
                yield from differences(a[k], b[k], rtol, atol, f"{path}/{k}", skip)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield f"{path}: length {len(a)} -> {len(b)}"
        else:
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                yield from differences(x, y, rtol, atol, f"{path}[{i}]", skip)
    elif _number(a) and _number(b):
        if not math.isclose(a, b, rel_tol=rtol, abs_tol=atol):
            yield f"{path}: {a!r} -> {b!r}"
    elif a != b or type(a) is not type(b):
        yield f"{path}: {a!r} -> {b!r}"


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def metrics_files(root: Path) -> dict[str, Path]:
    return {
        str(p.parent.relative_to(root)): p
        for p in sorted(root.rglob("metrics.json"))
        if "wandb" not in p.parts
    }


def compare_trees(
    old: Path, new: Path, rtol: float, atol: float, show: int, skip: frozenset[str] = frozenset()
) -> int:
    """Print the differences between two result trees; return the number of differing jobs."""
    a, b = metrics_files(old), metrics_files(new)
    bad = 0
    for job in sorted(set(a) | set(b)):
        if job not in a or job not in b:
            print(f"{job}: only in {'new' if job not in a else 'old'}")
            bad += 1
            continue
        found = differences(
            json.loads(a[job].read_text()), json.loads(b[job].read_text()), rtol, atol, skip=skip
        )
        diffs, added = [], []
        for line in found:
            (added if line.endswith(ADDED) else diffs).append(line)
        print(f"{job}: {'identical' if not diffs else f'{len(diffs)} differences'}", end="")
        print(
            f" ({len(added)} keys added: {', '.join(x.split(':')[0] for x in added)})"
            if added
            else ""
        )
        for line in diffs[:show]:
            print(f"    {line}")
        bad += bool(diffs)
    print(f"{len(set(a) | set(b))} jobs compared, {bad} differ")
    return bad


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    p.add_argument("--rtol", type=float, default=1e-6)
    p.add_argument("--atol", type=float, default=1e-9)
    p.add_argument("--show", type=int, default=10, help="differences printed per job")
    p.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="PATH",
        help="a key path left out of the comparison, e.g. /config when config keys were renamed "
        "(repeatable; the output says what was skipped)",
    )
    args = p.parse_args(argv)
    for root in (args.old, args.new):
        if not root.is_dir():
            print(f"ConfigError: {root} is not a directory", file=sys.stderr)
            return 2
    skip = frozenset("/" + s.strip("/") for s in args.skip)
    if skip:
        print(f"skipped: {', '.join(sorted(skip))} (and everything under them)")
    return 1 if compare_trees(args.old, args.new, args.rtol, args.atol, args.show, skip) else 0


if __name__ == "__main__":
    sys.exit(main())
