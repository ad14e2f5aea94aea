"""Hostile input: unknown keys, bad values and sizes that do not fit fail in one line before any work;
malicious or tampered checkpoints never run code and are recomputed."""

import os
import re

import pytest
import torch
from composed import composed as _compose

from experiments.run import run_experiment
from synthetic import ConfigError


@pytest.mark.parametrize(
    ("override", "pattern"),
    [
        ("+foo=1", r"^foo is not a valid key"),
        ("+experiment.bogus=1", r"^experiment\.bogus is not a valid key"),
        ("logging.wandb.mode=sometimes", r"^logging\.wandb\.mode='sometimes' is invalid"),
        ("+logging.wandb.entity=me", r"^logging\.wandb\.entity is not a valid key"),
        ("progress=2", r"^progress=2 is invalid: must be true or false$"),
        (
            "data.n_test=100000000000",
            r"^data\.n_test=100000000000 is invalid: the test sets .* would need [0-9.]+ GiB of memory",
        ),
    ],
)
def test_hostile_overrides_fail_in_one_line(override, pattern, tmp_path):
    cfg = _compose(["experiment=task_pair_irrelevant", override])
    with pytest.raises(ConfigError, match=pattern) as err:
        run_experiment(cfg, tmp_path / "out")
    assert "\n" not in str(err.value) and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        (["foo=1"], r"^foo is not a valid key: valid keys are \['batched', "),
        (["data.foo=1"], r"^data\.foo is not a valid key: valid keys are \['alpha', "),
        (["data.d=abc"], r"^data\.d=abc is invalid: must be an integer$"),
        (["experiment=ood", "experiment.kappas=[0,x]"], r"^experiment\.kappas=\[0,x\] is invalid"),
        (
            ["logging.wandb.enabled=maybe"],
            r"^logging\.wandb\.enabled=maybe is invalid: must be true",
        ),
        (["-m", "data.alpha=0.1,x"], r"^data\.alpha=x is invalid: must be a number$"),
        (
            ["experiment=nope"],
            r"^experiment='nope' is invalid: must be one of \['cdigits_compress'",
        ),
        (["data.d=[1"], r"^data\.d=\[1 is not a valid override"),
    ],
)
def test_composition_errors_are_one_line(overrides, line):
    """Unknown keys and mistyped values fail at composition (the schema), named in one line."""
    from experiments.config.compose import composition_problem

    assert composition_problem(["experiment=foundation", "experiment.n_seeds=1"]) is None
    problem = composition_problem(overrides)
    assert problem is not None and re.match(line, problem) and "\n" not in problem


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_checkpoints_never_run_code(tmp_path, caplog):
    from models.cache import ModelCache
    from models.task_vectors import load_model
    from models.vit_cache import ViTCache

    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"state_dict": _Evil(marker)}, evil)
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do, as long as nothing runs
        load_model(evil)
    assert not marker.exists()
    cache = ModelCache(tmp_path / "c")
    entry = cache.path("k" * 64)
    entry.parent.mkdir(parents=True)
    entry.write_bytes(evil.read_bytes())
    assert cache.load("k" * 64, torch.device("cpu"), torch.float32) is None  # refused, recomputed
    vcache = ViTCache(str(tmp_path / "v"))
    vpath = vcache._path("ab" * 32)
    vpath.parent.mkdir(parents=True)
    vpath.write_bytes(evil.read_bytes())
    assert vcache.load("ab" * 32, "cpu") is None
    assert not marker.exists()


def test_tampered_lm_checkpoint_is_recomputed(tmp_path, caplog):
    import models.lm as lm
    from models.lm_cache import LMCache
    from models.lm_config import LMConfig

    tok = lm.train_tokenizer(["some words and more words " * 20], 280)
    model = lm.new_model(
        LMConfig(n_embd=8, n_layer=1, n_head=2, n_positions=16, vocab_size=280), len(tok)
    )
    cache = LMCache(str(tmp_path))
    calls = []

    def make():
        calls.append(1)
        return model, tok, {}

    cache.get("a" * 64, make)
    weights = next(cache.path("a" * 64).glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    cache.get("a" * 64, make)
    assert len(calls) == 2 and "checksum mismatch" in caplog.text
