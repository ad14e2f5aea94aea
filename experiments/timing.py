"""Whole-process timings of ``make reproduce`` with a cold model cache: ``make time-reproduce``.

Each run calls ``make reproduce`` (in this checkout or in ``--repo``, e.g. a worktree of an older
commit) with a fresh results directory and a fresh, empty model cache
(``TA_CACHE_DIR``), then appends one record to ``results/timing.json``: wall, user and system time,
CPU use, peak memory of the largest process, and every job's own ``wall_seconds`` (its ``run.json``).
Records carry a label (e.g. ``before``/``after``); the README's results block (``make docs``) shows
the median per label, in total and per job. The environment (``.venv``) is the caller's and is ready.

    python -m experiments.timing --label after --runs 3 [--repo DIR] [-- JOBS=1 THREADS=2 ...]
    python -m experiments.timing --label after --adopt TIME_REPORT RESULTS   # a run made by hand
                                                      # under GNU time -v
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from experiments.io import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
GNU_TIME = {  # GNU time -v's line -> our key
    "User time (seconds)": "user_seconds",
    "System time (seconds)": "system_seconds",
    "Percent of CPU this job got": "cpu_percent",
    "Elapsed (wall clock) time (h:mm:ss or m:ss)": "wall_seconds",
    "Maximum resident set size (kbytes)": "max_rss_kb",
}


def parse_gnu_time(text: str) -> dict[str, float]:
    """The numbers of GNU ``time -v``'s report (wall clock ``[h:]mm:ss.ss`` in seconds)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        label, _, value = line.strip().rpartition(": ")
        key = GNU_TIME.get(label)
        if key is None:
            continue
        if key == "wall_seconds":
            parts = [float(p) for p in value.split(":")]
            out[key] = sum(p * 60**i for i, p in enumerate(reversed(parts)))
        else:
            out[key] = float(value.rstrip("%"))
    missing = set(GNU_TIME.values()) - set(out)
    if missing:
        raise ValueError(f"not a GNU time -v report: {sorted(missing)} missing")
    return out


def job_walls(results: Path) -> dict[str, float]:
    """Every job's own wall time (``run.json``), by its folder relative to ``results``."""
    out = {}
    for path in sorted(results.rglob("run.json")):
        wall = json.loads(path.read_text()).get("wall_seconds")
        if isinstance(wall, int | float):
            out[path.parent.relative_to(results).as_posix()] = float(wall)
    return out


def record(label: str, usage: dict, results: Path, repo: Path, args: list[str]) -> dict:
    commit = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    return {
        "label": label,
        "commit": commit or None,
        "make_args": args,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        **usage,
        "jobs": job_walls(results),
    }


def summarize(runs: list[dict]) -> dict[str, dict]:
    """Per label: the number of runs and the medians (whole run and per job)."""
    out: dict[str, dict] = {}
    for label in dict.fromkeys(r["label"] for r in runs):
        rs = [r for r in runs if r["label"] == label]
        jobs = sorted({j for r in rs for j in r["jobs"]})
        out[label] = {
            "n": len(rs),
            "commits": sorted({str(r["commit"]) for r in rs}),
            "commands": sorted({" ".join(["make reproduce", *r.get("make_args", [])]) for r in rs}),
            **{k: statistics.median(r[k] for r in rs) for k in GNU_TIME.values()},
            "jobs": {
                j: statistics.median(r["jobs"][j] for r in rs if j in r["jobs"]) for j in jobs
            },
        }
    return out


def timing_lines(timing: dict) -> list[str]:
    """The README's table: per label ("before" first) the median whole-run wall time, the speed-up
    over "before", CPU use, then per job (slowest first in the first column)."""
    s = summarize(timing["runs"])
    labels = sorted(s, key=lambda lab: lab != "before")
    head = [f"{lab} ({s[lab]['n']} run{'s' if s[lab]['n'] > 1 else ''})" for lab in labels]
    lines = ["| | " + " | ".join(head) + " |", "|---" * (len(labels) + 1) + "|"]

    def row(name: str, cells: list[str]) -> None:
        lines.append(f"| {name} | " + " | ".join(cells) + " |")

    row("commit", [", ".join(s[lab]["commits"]) for lab in labels])
    row("command", [", ".join(f"`{c}`" for c in s[lab]["commands"]) for lab in labels])
    row(
        "**whole `make reproduce`**",
        [f"**{s[lab]['wall_seconds'] / 60:.1f} min**" for lab in labels],
    )
    if "before" in s:
        base = s["before"]["wall_seconds"]
        row("speed-up over before", [f"{base / s[lab]['wall_seconds']:.2f}×" for lab in labels])
    row("CPU use", [f"{s[lab]['cpu_percent']:.0f}%" for lab in labels])
    row("user time", [f"{s[lab]['user_seconds']:.0f} s" for lab in labels])
    jobs = sorted(
        {j for lab in labels for j in s[lab]["jobs"]},
        key=lambda j: -s[labels[0]]["jobs"].get(j, 0),
    )
    for j in jobs:
        row(
            f"`{j}`",
            [f"{s[lab]['jobs'][j]:.0f} s" if j in s[lab]["jobs"] else "—" for lab in labels],
        )
    return lines


def time_one(repo: Path, args: list[str], label: str) -> dict:
    """One cold-cache ``make reproduce`` in ``repo``; its record. The times are the resource usage
    of the waited-for process tree, the numbers GNU ``time -v`` reports (both read ``wait4``)."""
    import resource  # POSIX only: the README's table (timing_lines) must import anywhere

    with tempfile.TemporaryDirectory(prefix="reproduce-timing-") as tmp:
        results, stamp = Path(tmp) / "results", Path(tmp) / "stamp"
        stamp.touch()  # newer than any pyproject.toml: make installs nothing into the ready .venv
        cmd = ["make", "-C", str(repo), "reproduce", f"RESULTS={results}",
               f"VENV={ROOT / '.venv'}", f"STAMP={stamp}", *args]  # fmt: skip
        env = {**os.environ, "TA_CACHE_DIR": str(Path(tmp) / "cache")}  # a cold model cache
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL)
        if done.returncode != 0:
            raise SystemExit(f"make reproduce failed in {repo} (exit {done.returncode}); no record")
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
        usage = {
            "wall_seconds": wall,
            "user_seconds": user,
            "system_seconds": system,
            "cpu_percent": 100 * (user + system) / wall,
            "max_rss_kb": float(after.ru_maxrss),  # the largest process so far (Linux: KiB)
        }
        return record(label, usage, results, repo, args)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--label", required=True, help="e.g. before / after")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--repo", type=Path, default=ROOT, help="the checkout whose make reproduce runs")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "timing.json")
    p.add_argument("--adopt", nargs=2, metavar=("TIME_REPORT", "RESULTS"),
                   help="record a run already made (its GNU time -v report and results tree)")  # fmt: skip
    p.add_argument("make_args", nargs="*", help="extra make variables, after --")
    a = p.parse_args(argv)
    if a.runs < 1:
        print(f"ConfigError: --runs={a.runs} is invalid: must be >= 1", file=sys.stderr)
        return 2
    if not (a.repo / "Makefile").exists():
        print(f"ConfigError: --repo={a.repo} is invalid: it has no Makefile", file=sys.stderr)
        return 2
    missing = [f for f in (a.adopt or []) if not Path(f).exists()]
    if missing:
        print(f"ConfigError: --adopt={missing[0]} is invalid: no such file or directory",
              file=sys.stderr)  # fmt: skip
        return 2
    for i in range(1 if a.adopt else a.runs):
        if a.adopt:
            usage = parse_gnu_time(Path(a.adopt[0]).read_text())
            rec = record(a.label, usage, Path(a.adopt[1]), a.repo, a.make_args)
        else:
            rec = time_one(a.repo, a.make_args, a.label)
        old = json.loads(a.out.read_text()) if a.out.exists() else {"runs": []}
        old["runs"].append(rec)
        a.out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(a.out, json.dumps(old, indent=1) + "\n")
        print(f"[timing] {a.label} run {i + 1}: {rec['wall_seconds'] / 60:.1f} min, "
              f"{rec['cpu_percent']:.0f}% CPU -> {a.out}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
