"""One-line configuration errors, raised before any work starts.

Every check names the bad key, the value it got and the valid range, e.g.
``ConfigError: data.alpha=1.5 is out of range: must be in [-1, 1]``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Callable, Sequence
from typing import Any


class ConfigError(ValueError):
    """A configuration value is invalid. The message is a single line."""


def fail(key: str, value: Any, valid: str) -> ConfigError:
    return ConfigError(f"{key}={value!r} is invalid: {valid}")


def need(ok: bool, key: str, value: Any, valid: str) -> None:
    """Raise ``fail(key, value, valid)`` unless ``ok``."""
    if not ok:
        raise fail(key, value, valid)


def check_int(
    key: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(key, value, "must be an integer")
    if minimum is not None and value < minimum:
        raise fail(key, value, f"must be >= {minimum}")
    if maximum is not None and value > maximum:
        raise fail(key, value, f"must be <= {maximum}")
    return value


def check_positive_int(key: str, value: Any) -> int:
    return check_int(key, value, minimum=1)


def check_float(
    key: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(key, value, "must be a number")
    x = float(value)
    lb = "-inf" if low is None else f"{low:g}"
    hb = "inf" if high is None else f"{high:g}"
    rng = f"{'(' if low_open or low is None else '['}{lb}, {hb}{')' if high_open or high is None else ']'}"
    if not math.isfinite(x):
        raise fail(key, value, f"must be finite and in {rng}")
    lo_ok = low is None or (x > low if low_open else x >= low)
    hi_ok = high is None or (x < high if high_open else x <= high)
    if not (lo_ok and hi_ok):
        raise fail(key, value, f"must be in {rng}")
    return x


def check_positive(key: str, value: Any) -> float:
    return check_float(key, value, low=0.0, low_open=True)


def check_choice(key: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise fail(key, value, f"must be one of {list(choices)}")
    return value


def check_bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise fail(key, value, "must be true or false")
    return value


def check_list(key: str, values: Any, check: Callable[[str, Any], Any], *, empty: bool = False):
    """A list whose entries each pass ``check(f"{key}[i]", entry)``; non-empty unless ``empty``."""
    if not isinstance(values, list | tuple) or not (values or empty):
        raise fail(key, values, "must be a non-empty list" if not empty else "must be a list")
    return [check(f"{key}[{i}]", v) for i, v in enumerate(values)]


# Declarative fields: a value's range is written once, on its dataclass field (``metadata["check"]``);
# ``check_fields(obj, section)`` runs every declared check (``None`` passes where ``optional``).
def _field(default: Any, check: Callable[[str, Any], Any], optional: bool = False) -> Any:
    meta = {"check": check, "optional": optional}
    if isinstance(default, list | dict):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def integer(default: Any = dataclasses.MISSING, *, lo=None, hi=None, optional=False) -> Any:
    return _field(default, functools.partial(check_int, minimum=lo, maximum=hi), optional)


def number(default: Any = dataclasses.MISSING, *, optional: bool = False, **rng: Any) -> Any:
    return _field(default, functools.partial(check_float, **rng), optional)


SEED_MAX = 2**63 - 1  # torch's generators take a 64-bit seed (derive_seed gives 63 bits)


def seed_field(default: Any = dataclasses.MISSING, spare: int = 0) -> Any:
    """A seed: an integer in [0, SEED_MAX - spare] (``spare``: offsets the code adds to it)."""
    return integer(default, lo=0, hi=SEED_MAX - spare)


def choice(default: Any, *options: Any) -> Any:
    return _field(default, functools.partial(check_choice, choices=options))


def flag(default: Any = dataclasses.MISSING) -> Any:
    return _field(default, check_bool)


def each(default: Any, check: Callable[[str, Any], Any], *, empty: bool = False) -> Any:
    """A list field whose entries each pass ``check``."""
    return _field(default, functools.partial(check_list, check=check, empty=empty))


def numbers(default: Any = dataclasses.MISSING, *, empty: bool = False, **rng: Any) -> Any:
    return each(default, functools.partial(check_float, **rng), empty=empty)


def check_fields(obj: Any, section: str) -> None:
    """Run the check of every declared field of the dataclass ``obj`` (keys ``section.field``)."""
    for f in dataclasses.fields(obj):
        value, meta = getattr(obj, f.name), f.metadata
        if "check" in meta and not (meta["optional"] and value is None):
            meta["check"](f"{section}.{f.name}" if section else f.name, value)


def check_room(d: Any, n_span: int, n_irrelevant: Any) -> int:
    """d must hold ``n_span`` task directions plus the irrelevant patterns; returns M.

    ``n_irrelevant=None`` means all remaining directions (at least one is needed).
    """
    d = check_int("data.d", d, minimum=1)
    if n_irrelevant is None:
        why = f"{n_span} task directions + at least 1 irrelevant pattern"
        need(d - n_span >= 1, "data.d", d, f"must be >= {n_span + 1} ({why})")
        return d - n_span
    n_irrelevant = check_int("data.n_irrelevant", n_irrelevant, minimum=1)
    why = f"{n_span} task directions + data.n_irrelevant={n_irrelevant}"
    need(n_span + n_irrelevant <= d, "data.d", d, f"must be >= {n_span + n_irrelevant} ({why})")
    return n_irrelevant


def check_writable_dir(key: str, value: Any) -> str:
    """``value`` names a directory that exists or can be created, and where files can be written
    (probed with a 64 KiB temporary file in its nearest existing ancestor, so that a read-only or
    full file system is caught too; nothing is left behind)."""
    import tempfile
    from pathlib import Path

    path = Path(str(value)).expanduser().absolute()
    parent = path
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    try:
        if not parent.is_dir():
            raise NotADirectoryError(f"{parent} is not a directory")
        with tempfile.TemporaryFile(dir=parent) as fh:
            fh.write(b"\0" * 65536)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as err:
        raise fail(key, value, f"cannot write there ({err.strerror or err})") from None
    return str(path)


def available_memory() -> int:
    """Bytes of physical memory available now (Linux); a large number where it cannot be read."""
    try:
        with open("/proc/meminfo") as fh:
            line = next(x for x in fh if x.startswith("MemAvailable:"))
            return int(line.split()[1]) * 1024
    except (OSError, StopIteration):
        return 1 << 60


def check_memory(key: str, value: Any, needed: float, what: str) -> None:
    """Refuse, before any work, a size whose arrays would not fit in 80% of the available memory."""
    gib = available_memory() / 2**30
    valid = f"{what} would need {needed / 2**30:.1f} GiB of memory and {gib:.1f} GiB are available"
    need(needed <= 0.8 * gib * 2**30, key, value, valid)
