"""Read an offline wandb run without syncing it: its name, group, tags, final summary and history.

``python -m experiments.wandb_offline <job dir or run dir>`` prints the summary of each run found.
A run's ``run-<id>.wandb`` file is a LevelDB-style log (32 KiB blocks of checksummed chunks) of
``wandb_internal_pb2.Record`` messages, after a 7-byte header; wandb itself offers no reader in
Python, and ``wandb sync`` needs the network.
"""

from __future__ import annotations

import argparse
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BLOCK = 32 * 1024
HEADER = 7  # ":W&B", a 2-byte magic, a 1-byte version
CHUNK = 7  # crc32 (4), length (2), type (1)
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


@dataclass
class OfflineRun:
    name: str = ""
    group: str = ""
    tags: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    exit_code: int | None = None


def records(data: bytes) -> list[bytes]:
    """The record payloads of a ``.wandb`` file's bytes (chunks of one record joined)."""
    out, part, pos = [], b"", HEADER
    while pos + CHUNK <= len(data):
        left = BLOCK - pos % BLOCK
        if left < CHUNK:  # a block's tail too short for a chunk header is padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + CHUNK])
        body = data[pos + CHUNK : pos + CHUNK + length]
        pos += CHUNK + length
        if kind == FULL:
            out.append(body)
        elif kind == FIRST:
            part = body
        elif kind == MIDDLE:
            part += body
        elif kind == LAST:
            out.append(part + body)
        else:  # zero padding to the end of the block
            pos += BLOCK - pos % BLOCK if pos % BLOCK else 0
    return out


def _key(item: Any) -> str:
    return item.key or "/".join(item.nested_key)


def read_run(path: str | Path) -> OfflineRun:
    """The run stored in a ``.wandb`` file (summary updates applied in order)."""
    from wandb.proto import wandb_internal_pb2 as pb

    run = OfflineRun()
    for payload in records(Path(path).read_bytes()):
        rec = pb.Record()
        rec.ParseFromString(payload)
        kind = rec.WhichOneof("record_type")
        if kind == "run":
            run.name, run.group, run.tags = (
                rec.run.display_name,
                rec.run.run_group,
                list(rec.run.tags),
            )
        elif kind == "config":
            run.config |= {_key(i): json.loads(i.value_json) for i in rec.config.update}
        elif kind == "summary":
            run.summary |= {_key(i): json.loads(i.value_json) for i in rec.summary.update}
        elif kind == "history":
            run.history.append({_key(i): json.loads(i.value_json) for i in rec.history.item})
        elif kind == "exit":
            run.exit_code = rec.exit.exit_code
    return run


def find_runs(root: str | Path) -> list[Path]:
    """Every ``.wandb`` file under ``root`` (a job directory holds ``wandb/offline-run-*/``)."""
    return sorted(Path(root).rglob("offline-run-*/run-*.wandb"))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m experiments.wandb_offline", description=__doc__)
    ap.add_argument("root", type=Path, help="a job directory, a results tree or a run directory")
    args = ap.parse_args(argv)
    for path in find_runs(args.root):
        run = read_run(path)
        print(f"{path.parent}: {run.name!r} group={run.group!r} tags={run.tags}")
        for k, v in sorted(run.summary.items()):
            if not k.startswith("_") and isinstance(v, int | float | str):
                print(f"  {k} = {v}")


if __name__ == "__main__":
    main()
