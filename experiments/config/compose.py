"""Hydra's composition errors as one ``ConfigError`` line (the CLI exits 2 with it, before any work).

Composition already rejects an unknown key (``key=v``), a mistyped value and a missing group option;
Hydra would report these on several lines with exit status 1, so ``composition_problem`` composes the
command line first (each value of a sweep once) and names the key, the value and what is valid.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "conf"
KINDS = {  # OmegaConf's wording -> the valid range
    "Integer": "must be an integer",
    "Float": "must be a number",
    "Union[int, float]": "must be a number",
    "valid bool": "must be true or false",
}


def one_line(err: Exception) -> str:
    """The one-line message for a Hydra/OmegaConf composition error."""
    cause, text = err.__cause__, str(err)
    options = getattr(err, "options", None)
    missing = getattr(err, "missing_cfg_file", None)
    if missing and options:  # e.g. experiment=no_such_experiment
        group, _, name = str(missing).rpartition("/")
        return f"{group}={name!r} is invalid: must be one of {sorted(options)}"
    key = getattr(cause, "full_key", None)
    kind = getattr(cause, "object_type", None)
    if "Could not override" in text and key:
        valid = sorted(f.name for f in dataclasses.fields(kind)) if kind else []
        return f"{key} is not a valid key: valid keys are {valid}"
    merged = re.match(r"Error merging override ([^=]+)=(.*)", text)
    if merged and cause is not None:
        message = str(cause).splitlines()[0]
        valid = next((v for k, v in KINDS.items() if k in message), message)
        return f"{merged[1].lstrip('+~')}={merged[2]} is invalid: {valid}"
    return text.splitlines()[0] if text else type(err).__name__


def _variants(overrides: list[str]) -> list[list[str]]:
    """The overrides with each sweep replaced by one of its values (every value once)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    out = [fixed]
    for o in parsed:
        if o.is_sweep_override():
            key = o.get_key_element()
            out += [[*fixed, f"{key}={v}"] for v in o.sweep_string_iterator()]
    return out


def composition_problem(argv: list[str]) -> str | None:
    """One line if Hydra cannot compose the command line ``argv``; None if it can."""
    from hydra import compose, initialize_config_dir
    from hydra._internal.utils import get_args_parser
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from experiments.config import schema  # noqa: F401  (registers the schema)

    args, _ = get_args_parser().parse_known_args(argv)
    if args.help or args.hydra_help or args.info or args.cfg or args.shell_completion:
        return None
    for line in args.overrides:
        try:
            OverridesParser.create().parse_override(line)
        except HydraException as err:
            return f"{line} is not a valid override: {str(err).splitlines()[0]}"
    try:
        for overrides in _variants(args.overrides):
            GlobalHydra.instance().clear()
            with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
                compose(args.config_name or "config", overrides=overrides)
    except (HydraException, OmegaConfBaseException) as err:
        return one_line(err)
    finally:
        GlobalHydra.instance().clear()
    return None
