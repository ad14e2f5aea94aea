"""Atomic file writes and the hash of source files (no torch import: the config checks and the
job key, which run before any work, use them)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(fh)`` on a temporary file next to ``path``, fsync, then rename it over ``path``.

    A crash at any point leaves either the old file or the new one, never a half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(
            tmp, 0o666 & ~_umask()
        )  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise OSError(
                err.errno,
                f"no space left on the device while writing {path}; the previous {path.name} is intact",
            ) from err
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


_HELD: set[Path] = set()  # locks this process holds (re-entering one is a no-op, not a deadlock)


@contextlib.contextmanager
def locked(path: str | os.PathLike, what: str = "") -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created if needed) for the ``with`` block.

    Another process taking the same lock waits (saying so on stderr when ``what`` names the thing
    it waits for); the lock is released when the block ends or the holder dies (``flock``). A
    process that already holds the lock enters at once.
    """
    path = Path(path).absolute()
    if path in _HELD:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if what:
                log.info("waiting for another process using %s (%s)", what, path)
            fcntl.flock(fh, fcntl.LOCK_EX)
        _HELD.add(path)
        try:
            yield
        finally:
            _HELD.discard(path)
            fcntl.flock(fh, fcntl.LOCK_UN)


ROOT = Path(__file__).resolve().parents[1]


def code_hash(files: Iterable[str | os.PathLike]) -> str:
    """SHA-256 (16 hex) of source files (paths relative to the repository root, hashed with their
    bytes, in the given order): the code part of every cache key and of the job key."""
    h = hashlib.sha256()
    for rel in files:
        h.update(str(rel).encode())
        h.update((ROOT / rel).read_bytes())
    return h.hexdigest()[:16]
