"""Logging helpers for the job's logging config (``conf/hydra/job_logging/project.yaml``)."""

from __future__ import annotations

import logging


class MaxLevel(logging.Filter):
    """Pass records up to ``level`` (stdout gets INFO and below; warnings and errors go to stderr)."""

    def __init__(self, level: str = "INFO") -> None:
        super().__init__()
        self.level = logging.getLevelName(level)

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno <= self.level
