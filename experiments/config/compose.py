"""Hydra's composition errors as one ``ConfigError`` line (the CLI exits 2 with it, before any work).

Composition already rejects an unknown key (``key=v``), a mistyped value and a missing group option;
Hydra would report these on several lines with exit status 1, so ``composition_problem`` composes the
command line first (each value of a sweep once) and names the key, the value and what is valid.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
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
        if not dataclasses.is_dataclass(kind):  # a free mapping (e.g. experiment.pairs): + adds
            return f"{key} is not a valid key: add a new entry with +{key}=..."
        valid = sorted(f.name for f in dataclasses.fields(kind))
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
    from hydra._internal.utils import get_args_parser
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
    config = args.config_name or "config"
    try:
        for overrides in _variants(args.overrides):
            _compose(config, overrides)
    except (HydraException, OmegaConfBaseException) as err:
        return one_line(err)
    parsed = OverridesParser.create().parse_overrides(args.overrides)
    added = [o for o in parsed if o.key_or_group.startswith("hydra.") and o.input_line[0] == "+"]
    fixed = [o.input_line for o in parsed if o not in added and not o.is_sweep_override()]
    hydra_cfg = _compose(config, fixed, hydra=True)  # the fixed overrides, Hydra's own keys too
    return unread_hydra_key(hydra_cfg, added) or invalid_job(config, parsed, hydra_cfg)


def unread_hydra_key(cfg, added: list) -> str | None:
    """One line for an override ``+hydra.x=v`` (``added``) that adds a key to a node of Hydra's
    schema in ``cfg`` (Hydra would ignore it; adding to a free mapping such as
    ``hydra.job.env_set`` is fine)."""
    from omegaconf import OmegaConf

    for o in added:
        parent, _, leaf = o.key_or_group.rpartition(".")
        node = OmegaConf.select(cfg, parent)
        if OmegaConf.select(cfg, o.key_or_group) is None and (
            node is None or OmegaConf.get_type(node) is not dict
        ):
            return f"{o.key_or_group} is not a valid key: Hydra does not read {leaf!r} there"
    return None


def _compose(config: str, overrides: list[str], hydra: bool = False):
    """The composed config (read-only use: one composition per distinct command line, since a sweep
    over one key composes each job both as a variant and as a job)."""
    return _compose_once(config, tuple(overrides), hydra)


@functools.cache
def _compose_once(config: str, overrides: tuple[str, ...], hydra: bool):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
            return compose(config, overrides=list(overrides), return_hydra_config=hydra)
    finally:
        GlobalHydra.instance().clear()


def jobs(parsed: list, hydra_cfg) -> list[list[str]]:
    """The overrides of every job: the product of the command line's sweeps (``parsed``) and of a
    preset's ``hydra.sweeper.params`` in ``hydra_cfg`` (a key on the command line wins)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    keys = {o.get_key_element() for o in parsed}
    params = hydra_cfg.hydra.sweeper.get("params") or {}
    new = [f"{k}={v}" for k, v in params.items() if k not in keys]
    parsed = [*parsed, *OverridesParser.create().parse_overrides(new)]
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    axes = [
        [f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()]
        for o in parsed
        if o.is_sweep_override()
    ]
    return [[*fixed, *combo] for combo in itertools.product(*axes)]


def invalid_job(config: str, parsed: list, hydra_cfg) -> str | None:
    """One line for the first job of the command line (every job of a sweep) whose values the
    experiment's checks refuse; None if every job is valid. Runs before the first job starts."""
    from experiments.config import VALIDATORS, check_keys
    from experiments.extras import experiment_problem
    from synthetic.checks import ConfigError

    todo, given = jobs(parsed, hydra_cfg), {o.input_line for o in parsed}
    for i, job in enumerate(todo):
        cfg = _compose(config, job)
        try:  # every validator checks the top level first; an unknown name: the top level only
            missing = experiment_problem(cfg.experiment.name)  # a missing extra (e.g. 'lm') first
            if missing:
                raise ConfigError(missing)
            VALIDATORS.get(cfg.experiment.name, check_keys)(cfg)
        except ConfigError as err:
            swept = [o for o in job if o not in given]
            where = f" (job {i + 1} of {len(todo)}: {' '.join(swept)})" if len(todo) > 1 else ""
            return f"{err}{where}"
    return None
