"""The optional extras of pyproject.toml (experiments/extras.py): the requirement sets the Makefile
installs, and the one-line error, before any work, when a run needs an extra that is missing (the
absence is simulated: ``importlib.util.find_spec`` patched in this process, a blocking import finder
in a subprocess)."""

import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from composed import composed
from omegaconf import OmegaConf

from experiments import extras
from experiments.run import run_experiment
from synthetic import ConfigError

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LM_PINS = "transformers==5.24.0 tokenizers==0.23.3 peft==0.21.2 rouge-score==0.1.2"
RAY_PINS = "hydra-ray-launcher==1.2.2 'ray[default]==2.60.0'"


def _hide(monkeypatch, *modules):
    """Pretend ``modules`` (and their submodules) are not installed and every other module of every
    extra is, for ``find_spec`` (whatever this environment holds)."""
    real = importlib.util.find_spec
    provided = {m for ms in extras.MODULES.values() for m in ms}

    def find_spec(name, package=None):
        if any(name == m or name.startswith(m + ".") for m in modules):
            return None
        return real("json") if name in provided else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


BLOCK = """
import sys, runpy
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN or name in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
"""


def _cli_without(hidden, args):
    """``python -m experiments.run ARGS`` in a process where the ``hidden`` modules cannot be found."""
    code = f"HIDDEN = {set(hidden)!r}\n{BLOCK}\nrunpy.run_module('experiments.run', run_name='__main__', alter_sys=True)"
    env = {**os.environ, "WANDB_MODE": "disabled"}
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


# ----------------------------------------------------------------------------- requirement sets
def test_every_pin_is_exact_and_every_extra_names_its_modules():
    every = PROJECT["dependencies"] + [
        p for ps in PROJECT["optional-dependencies"].values() for p in ps
    ]
    assert all(re.fullmatch(r"[a-z0-9-]+(\[[a-z]+\])?==[0-9][0-9.]*", p) for p in every), every
    assert set(extras.MODULES) == set(PROJECT["optional-dependencies"])
    assert all(extras.MODULES.values())
    assert set(extras.LAUNCHERS) <= {p.stem for p in (ROOT / "conf/hydra/launcher").glob("*.yaml")}


def test_the_default_install_is_the_base_with_dev_lm_and_slurm_and_not_ray():
    make = (ROOT / "Makefile").read_text()
    assert re.search(r"^EXTRAS \?= (\S+)$", make, re.M)[1] == ",".join(extras.DEFAULT)
    reqs = extras.requirements(list(extras.DEFAULT))
    assert reqs[: len(PROJECT["dependencies"])] == PROJECT["dependencies"]
    assert {
        "torch==2.13.0",
        "transformers==5.24.0",
        "pytest==9.2.0",
        "hydra-submitit-launcher==1.2.0",
    } <= set(reqs)
    assert not any(r.startswith(("ray", "hydra-ray")) for r in reqs)
    base = extras.requirements([])
    assert not any(
        r.startswith(("ray", "transformers", "peft", "pytest", "hydra-submitit")) for r in base
    )


def test_the_requirements_cli_prints_the_pins_and_refuses_an_unknown_extra():
    def cli(arg):
        return subprocess.run(
            [sys.executable, "-m", "experiments.extras", arg],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )

    ok = cli("lm,ray")
    assert ok.returncode == 0 and ok.stdout.split() == extras.requirements(["lm", "ray"])
    assert "ray[default]==2.60.0" in ok.stdout.split() and "pytest==9.2.0" not in ok.stdout
    bad = cli("dev,rays")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip() == (
        "ConfigError: EXTRAS=dev,rays is invalid: 'rays' is not an extra; "
        "valid extras are ['dev', 'lm', 'ray', 'slurm']"
    )


# ----------------------------------------------------------------------------- missing extras
def test_lm_experiment_without_transformers_stops_with_one_line_before_any_work(
    tmp_path, monkeypatch
):
    cfg = composed(["experiment=lm_unlearning"])
    _hide(monkeypatch, "transformers")
    with pytest.raises(ConfigError) as err:
        run_experiment(cfg, tmp_path / "out")
    line = str(err.value)
    assert "\n" not in line and not (tmp_path / "out").exists()
    assert line.startswith(
        "experiment=lm_unlearning needs the 'lm' extra (transformers is not installed): "
    )
    assert line.endswith(f" -m pip install {LM_PINS} (or: make venv EXTRAS=dev,lm,slurm)")


@pytest.mark.parametrize("hidden", ["peft", "rouge_score", "tokenizers"])
def test_each_module_of_the_lm_extra_is_checked(monkeypatch, hidden):
    _hide(monkeypatch)
    assert extras.experiment_problem("lm_unlearning") is None
    _hide(monkeypatch, hidden)
    assert f"'lm' extra ({hidden} is not installed)" in extras.experiment_problem("lm_unlearning")
    assert extras.experiment_problem("task_pair") is None  # the base needs no extra


@pytest.mark.parametrize(
    ("launcher", "extra", "hidden", "pins", "make"),
    [
        ("ray_cluster", "ray", "ray", RAY_PINS, "dev,lm,slurm,ray"),
        ("ray_cluster", "ray", "hydra_plugins.hydra_ray_launcher", RAY_PINS, "dev,lm,slurm,ray"),
        ("slurm", "slurm", "submitit", "hydra-submitit-launcher==1.2.0", "dev,lm,slurm"),
        (
            "local",
            "slurm",
            "hydra_plugins.hydra_submitit_launcher",
            "hydra-submitit-launcher==1.2.0",
            "dev,lm,slurm",
        ),
    ],
    ids=["ray", "ray-plugin", "slurm", "local"],
)
def test_a_launcher_without_its_extra_is_one_line(monkeypatch, launcher, extra, hidden, pins, make):
    argv = ["-m", "experiment=task_pair_irrelevant", f"hydra/launcher={launcher}"]
    _hide(monkeypatch, hidden)
    line = extras.launcher_problem(argv)
    assert line.startswith(
        f"hydra/launcher={launcher} needs the '{extra}' extra ({hidden} is not installed): "
    )
    assert line.endswith(f" -m pip install {pins} (or: make venv EXTRAS={make})")
    assert extras.launcher_problem(["-m", "hydra/launcher=cores"]) is None  # joblib: in the base


def test_a_launcher_whose_extra_is_installed_passes(monkeypatch):
    _hide(monkeypatch)
    assert extras.launcher_problem(["-m", "+hydra/launcher=ray_cluster"]) is None
    assert extras.launcher_problem(["-m", "hydra/launcher=local"]) is None


@pytest.mark.parametrize(
    ("hidden", "args", "head", "tail"),
    [
        (
            "transformers",
            ["experiment=lm_unlearning"],
            "experiment=lm_unlearning needs the 'lm' extra (transformers is not installed): ",
            f" -m pip install {LM_PINS} (or: make venv EXTRAS=dev,lm,slurm)",
        ),
        (
            "ray",
            ["-m", "hydra/launcher=ray_cluster", "experiment=task_pair_irrelevant"],
            "hydra/launcher=ray_cluster needs the 'ray' extra (ray is not installed): ",
            f" -m pip install {RAY_PINS} (or: make venv EXTRAS=dev,lm,slurm,ray)",
        ),
    ],
    ids=["lm", "ray"],
)
def test_the_cli_exits_2_with_one_line_naming_the_install_command(
    tmp_path, hidden, args, head, tail
):
    out = tmp_path / "out"
    r = _cli_without([hidden], [*args, f"hydra.run.dir={out}", f"hydra.sweep.dir={out}"])
    assert r.returncode == 2 and r.stdout == "" and r.stderr.count("\n") == 1, r.stderr[-2000:]
    line = r.stderr.removesuffix("\n")
    assert line.startswith(f"ConfigError: {head}") and line.endswith(tail), line
    assert not out.exists()


def test_the_base_code_imports_without_any_extra():
    """Every module of the codebase imports with the lm, slurm, ray and dev modules hidden (an extra's
    module is imported inside the functions that need it)."""
    hidden = {m.split(".")[0] for e in ("lm", "slurm", "ray") for m in extras.MODULES[e]}
    hidden.discard("hydra_plugins")  # the joblib launcher of the base lives there too
    hidden |= {
        "hydra_plugins.hydra_submitit_launcher",
        "hydra_plugins.hydra_ray_launcher",
        "pytest",
    }
    names = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for f in ("synthetic", "models", "experiments", "plots")
        for p in (ROOT / f).rglob("*.py")
        if p.name != "__main__.py"  # runs its command (experiments.report: writes results/)
    )
    code = f"HIDDEN = {hidden!r}\n{BLOCK}\nimport importlib\nfor n in {names!r}: importlib.import_module(n)"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert len(names) > 50 and "models.lm" in names and "experiments.lm.unlearning" in names


# ----------------------------------------------------------------------------- the ray launcher
def test_the_ray_launcher_config_holds_what_the_plugin_reads(monkeypatch):
    """conf/hydra/launcher/ray_cluster.yaml without the plugin (hydra-ray-launcher, the 'ray' extra,
    which provides the `ray` config it extends): its keys and values; with ray missing, selecting it is
    the one-line error above (test_the_cli_exits_2_with_one_line_naming_the_install_command)."""
    cfg = OmegaConf.load(ROOT / "conf/hydra/launcher/ray_cluster.yaml")
    assert list(cfg) == ["defaults", "ray"] and list(cfg.defaults) == ["ray"]
    assert set(cfg.ray) == {
        "init",
        "remote",
    }  # hydra_ray_launcher's RayConf: init and remote kwargs
    assert dict(cfg.ray.remote) == {"num_cpus": 1, "num_gpus": 0}
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert cfg.ray.init.address is None  # Ray starts a local cluster
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    assert OmegaConf.to_container(cfg.ray.init, resolve=True) == {"address": "auto"}
