"""Weights & Biases at the edge: one run per job, every call guarded.

``metrics.json`` is written before anything is sent here, and a wandb failure is reported (once, on
stderr) and never raised, so it cannot lose a job's results. The mode comes from the config
(``logging.wandb.mode``, default ``${oc.env:WANDB_MODE,offline}``): nothing here needs the network.

What a run gets: the resolved config; every table of ``metrics["tables"]`` as a ``wandb.Table``
(training curves per task and seed, λ-curves, ...), the line plots of ``metrics["line_plots"]``, the
figures of ``metrics["figures"]`` as images, and the claims as summary values.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


class Tracker:
    def __init__(self, logging_cfg: dict, config: dict, out_dir: Path, name: str) -> None:
        self.run = None
        self.failed = False
        wb = (logging_cfg or {}).get("wandb", {})
        if not wb.get("enabled", True):
            return
        try:
            import wandb

            self.wandb = wandb
            self.run = wandb.init(
                project=wb.get("project", "task-arithmetic-theory"),
                group=wb.get("group") or name,
                job_type=wb.get("job_type") or name,
                tags=list(wb.get("tags") or []),
                config=config,
                mode=wb.get("mode", "offline"),
                dir=str(out_dir),
                name=wb.get("name"),
            )
        except Exception as err:
            self._warn("init", err)

    def _warn(self, what: str, err: Exception) -> None:
        if not self.failed:
            print(
                f"wandb {what} failed ({type(err).__name__}: {err}); results are in metrics.json",
                file=sys.stderr,
            )
        self.failed = True

    def log_metrics(self, metrics: dict[str, Any], out_dir: Path) -> None:
        if self.run is None:
            return
        try:
            wandb = self.wandb
            tables = {}
            for name, t in metrics.get("tables", {}).items():
                tables[name] = wandb.Table(columns=t["columns"], data=t["rows"])
                self.run.log({f"table/{name}": tables[name]})
            for p in metrics.get("line_plots", []):
                chart = wandb.plot.line(
                    tables[p["table"]], p["x"], p["y"], stroke=p.get("stroke"), title=p["title"]
                )
                self.run.log({f"plot/{p['title']}": chart})
            for fig in metrics.get("figures", []):
                path = out_dir / fig
                if path.suffix == ".png" and path.exists():
                    self.run.log({f"figure/{path.stem}": wandb.Image(str(path))})
            for i, claim in enumerate(metrics.get("claims", [])):
                self.run.summary[f"claim/{i}/{claim['claim'][:60]}"] = (
                    f"{claim['verdict']}: {claim['measured']}"
                )
            for key, value in metrics.get("wandb_summary", {}).items():
                self.run.summary[key] = value
        except Exception as err:
            self._warn("logging", err)

    def finish(self, exit_code: int) -> None:
        if self.run is None:
            return
        try:
            self.run.finish(exit_code=exit_code)
        except Exception as err:
            self._warn("finish", err)
        self.run = None
