"""The optional extras of ``pyproject.toml``: what each provides and what needs it.

A run that needs an extra which is not installed stops with one ``ConfigError`` line naming the
install command, before any work: an experiment (``Spec.extra`` in ``experiments.registry``) from
``experiments.run`` and from the command-line checks, a launcher (``hydra/launcher=...``) from the
command line, before Hydra composes it (its config comes from the plugin package). Presence is
tested with ``importlib.util.find_spec``: nothing heavy is imported.

``python -m experiments.extras dev,lm`` prints the pinned requirements of the base and of those
extras, one a line (the Makefile's ``venv`` target installs them with pip; ``""``: the base alone).
"""

from __future__ import annotations

import importlib.util
import shlex
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The Makefile's default EXTRAS: what `make test` (dev, lm, slurm) and `make reproduce` (lm) need
DEFAULT = ("dev", "lm", "slurm")
MODULES = {  # extra -> the top-level modules its distributions provide
    "lm": ("transformers", "tokenizers", "peft", "rouge_score"),
    "slurm": ("submitit", "hydra_plugins.hydra_submitit_launcher"),
    "ray": ("ray", "hydra_plugins.hydra_ray_launcher"),
    "dev": ("pytest", "ruff"),
}
LAUNCHERS = {"slurm": "slurm", "local": "slurm", "ray_cluster": "ray"}  # conf/hydra/launcher/


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pins(extra: str | None = None) -> list[str]:
    """The pinned requirements of the base (``None``) or of one extra, from ``pyproject.toml``."""
    project = _project()
    if extra is None:
        return list(project["dependencies"])
    return list(project["optional-dependencies"][extra])


def requirements(extras: list[str]) -> list[str]:
    """The base's pins, then those of each extra; one line if an extra is unknown."""
    from synthetic.checks import ConfigError

    known = sorted(_project()["optional-dependencies"])
    bad = [e for e in extras if e not in known]
    if bad:
        raise ConfigError(
            f"EXTRAS={','.join(extras)} is invalid: {bad[0]!r} is not an extra; valid extras are {known}"
        )
    return list(dict.fromkeys(pins() + [p for e in extras for p in pins(e)]))


def absent(extra: str) -> str | None:
    """The first module of ``extra`` that cannot be found, or None if all can."""
    for name in MODULES[extra]:
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except ModuleNotFoundError:  # its parent package (hydra_plugins) is missing
            return name
    return None


def install_hint(extra: str) -> str:
    """The two ways to install ``extra``: pip into this interpreter, or the Makefile."""
    python = Path(sys.executable)
    try:
        python = python.relative_to(Path.cwd())
    except ValueError:
        pass
    packages = " ".join(shlex.quote(p) for p in pins(extra))
    make = ",".join(dict.fromkeys([*DEFAULT, extra]))
    return f"{python} -m pip install {packages} (or: make venv EXTRAS={make})"


def problem(extra: str | None, what: str) -> str | None:
    """One line if ``what`` (e.g. ``experiment=lm_unlearning``) needs ``extra`` and it is missing."""
    module = absent(extra) if extra else None
    if module is None:
        return None
    return f"{what} needs the {extra!r} extra ({module} is not installed): {install_hint(extra)}"


def experiment_problem(name: str) -> str | None:
    """One line if the experiment ``name`` needs an extra that is missing (unknown names: None)."""
    from experiments.registry import EXPERIMENTS

    spec = EXPERIMENTS.get(name)
    return problem(spec.extra, f"experiment={name}") if spec else None


def launcher_problem(argv: list[str]) -> str | None:
    """One line if the command line picks a launcher (``hydra/launcher=NAME``) whose extra is missing."""
    for arg in argv:
        key, _, value = arg.lstrip("+").partition("=")
        if key == "hydra/launcher" and value in LAUNCHERS:
            return problem(LAUNCHERS[value], f"hydra/launcher={value}")
    return None


def main(argv: list[str]) -> int:
    from synthetic.checks import ConfigError

    if len(argv) != 1:
        print(
            'usage: python -m experiments.extras EXTRA[,EXTRA...]  ("": the base alone)',
            file=sys.stderr,
        )
        return 2
    try:
        print("\n".join(requirements([e for e in argv[0].split(",") if e])))
    except ConfigError as err:
        print(f"ConfigError: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
