from dataclasses import replace

import pytest
import torch
from tolerance import reductions, tol

import models.cache as cache_mod
from models import ModelConfig, TrainConfig, pretrained_model
from models.cache import ModelCache, cache_key
from synthetic import TokenConfig, make_task, pair_geometry

TOK = TokenConfig()


def _task(alpha=0.0, name="T1"):
    return make_task(pair_geometry(32, alpha), name, TOK)


@pytest.fixture
def psi0():
    return pretrained_model(ModelConfig())


def _same(a, b):
    return all(
        torch.equal(x, y)
        for x, y in zip(a.model.state_dict().values(), b.model.state_dict().values(), strict=True)
    )


def test_identical_request_returns_the_stored_model(tmp_path, psi0):
    c = ModelCache(tmp_path)
    first = c.finetune(psi0, _task(), TrainConfig(seed=1))
    again = ModelCache(tmp_path).finetune(psi0, _task(), TrainConfig(seed=1))
    assert c.stats.trained == 1
    assert _same(first, again)
    assert again.history.steps_run == first.history.steps_run


def test_identical_requests_in_one_call_train_once(tmp_path, psi0):
    c = ModelCache(tmp_path)
    out = c.finetune_many([(psi0, _task(), TrainConfig(seed=2))] * 3)
    assert c.stats.trained == 1 and c.stats.requested == 3 and _same(out[0], out[2])


def test_task_one_of_an_alpha_sweep_is_one_entry(psi0):
    """T1 does not change with α, so its key does not either; T2's does."""
    cfg = TrainConfig(seed=0)
    assert cache_key(psi0, _task(0.0), cfg) == cache_key(psi0, _task(0.8), cfg)
    assert cache_key(psi0, _task(0.0, "T2"), cfg) != cache_key(psi0, _task(0.8, "T2"), cfg)


@pytest.mark.parametrize(
    "change",
    [
        lambda p, t, c: (p, t, replace(c, lr=4.0)),
        lambda p, t, c: (p, t, replace(c, seed=9)),
        lambda p, t, c: (p, t, replace(c, n_steps=999)),
        lambda p, t, c: (p, t, replace(c, batch_size=32)),
        lambda p, t, c: (p, _task(0.0, "T2"), c),
        lambda p, t, c: (
            p,
            make_task(pair_geometry(32, 0.0), "T1", TokenConfig(delta_conf=0.0625)),
            c,
        ),
        lambda p, t, c: (p, make_task(pair_geometry(32, 0.0, rotate=True), "T1", TOK), c),
        lambda p, t, c: (pretrained_model(ModelConfig(seed=5)), t, c),
        lambda p, t, c: (pretrained_model(ModelConfig(v0_std=0.02)), t, c),
        lambda p, t, c: (pretrained_model(ModelConfig(), dtype="float64"), t, c),
    ],
)
def test_any_determining_change_retrains(tmp_path, psi0, change):
    c = ModelCache(tmp_path)
    base = (psi0, _task(), TrainConfig(seed=1))
    c.finetune(*base)
    changed = change(*base)
    assert cache_key(*changed) != cache_key(*base)
    c.finetune(*changed)
    assert c.stats.trained == 2 and c.stats.hits == 0


def test_code_change_retrains(tmp_path, psi0, monkeypatch):
    c = ModelCache(tmp_path)
    req = (psi0, _task(), TrainConfig(seed=1))
    before = cache_key(*req)
    c.finetune(*req)
    monkeypatch.setattr(cache_mod, "code_version", lambda: "another-version")
    assert cache_key(*req) != before
    c.finetune(*req)
    assert c.stats.trained == 2 and c.stats.hits == 0


@pytest.mark.parametrize("damage", ["truncate", "flip", "history", "foreign", "empty"])
def test_damaged_entry_is_detected_and_recomputed(tmp_path, psi0, damage):
    c = ModelCache(tmp_path)
    req = (psi0, _task(), TrainConfig(seed=3))
    good = c.finetune(*req)
    path = c.path(cache_key(*req))
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif (
        damage == "flip"
    ):  # change one weight, keep the file loadable: only the checksum catches it
        obj = torch.load(path, weights_only=True)
        obj["state_dict"]["V"][0, 0] += 1.0
        torch.save(obj, path)
    elif damage == "history":  # the stored training history is under the checksum too
        obj = torch.load(path, weights_only=True)
        obj["history"]["val_hinge"][-1] += 1e-3
        torch.save(obj, path)
    elif damage == "foreign":
        torch.save({"format": "something else"}, path)
    else:
        path.write_bytes(b"")
    c2 = ModelCache(tmp_path)
    again = c2.finetune(*req)
    assert c2.stats.recomputed == 1 and c2.stats.trained == 1 and c2.stats.hits == 0
    assert _same(good, again)
    # the entry was rewritten and is good now
    c3 = ModelCache(tmp_path)
    c3.finetune(*req)
    assert c3.stats.hits == 1 and c3.stats.trained == 0


def test_disabled_cache_always_trains(psi0):
    c = ModelCache(None)
    c.finetune(psi0, _task(), TrainConfig())
    c.finetune(psi0, _task(), TrainConfig())
    assert c.stats.trained == 2


def test_batched_cache_requests_match_single_ones(tmp_path):
    psi0s = [pretrained_model(ModelConfig(seed=s), dtype="float64") for s in range(3)]
    reqs = [(p, _task(), TrainConfig(seed=s)) for s, p in enumerate(psi0s)]
    batched = ModelCache(tmp_path / "a").finetune_many(reqs, batched=True)
    single = ModelCache(tmp_path / "b").finetune_many(reqs, batched=False)
    for b, s in zip(batched, single, strict=True):
        # two summation orders in float64, accumulated over the steps run (as in test_batched)
        n = s.history.steps_run * TrainConfig().batch_size * reductions(32, 16, 64)
        assert torch.allclose(
            b.model.V, s.model.V, rtol=0, atol=tol(torch.float64, n, s.model.V.abs().max())
        )
