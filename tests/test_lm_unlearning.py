"""LM unlearning: corpus generator, LoRA task vectors, edits, Rouge-L, local checkpoints, config checks."""

import pytest
import torch
from hydra import compose, initialize
from hydra.core.global_hydra import GlobalHydra
from tolerance import tol

import models.lm as lm
from experiments.io import load_metrics
from experiments.run import run_experiment
from models.lm_config import LMConfig, LMTrainConfig
from models.task_vectors import apply, lora_task_vector, parameters
from synthetic import ConfigError
from synthetic.books import generate, shared_entity_fraction
from tests.composed import headline_numbers


def _compose(overrides=()):
    GlobalHydra.instance().clear()
    with initialize(version_base="1.3", config_path="../conf"):
        return compose("config", overrides=["experiment=lm_unlearning", *overrides])


TINY_MODEL = LMConfig(n_embd=16, n_layer=1, n_head=2, n_positions=32, vocab_size=300)


def _tiny():
    corpus = generate(0, sentences=40, background_sentences=40)
    tok = lm.train_tokenizer([corpus.background, *corpus.books.values()], 300)
    return lm.new_model(TINY_MODEL, len(tok)), tok, corpus


# ----------------------------------------------------------------------------- corpus
def test_corpus_is_deterministic_per_seed():
    a, b, c = generate(3, sentences=50), generate(3, sentences=50), generate(4, sentences=50)
    assert a.books == b.books and a.background == b.background
    assert a.books["A"] != c.books["A"]


@pytest.mark.parametrize("overlap", [0.0, 0.5, 1.0])
def test_overlap_sets_the_shared_entity_fraction(overlap):
    corpus = generate(0, sentences=50, overlap=overlap)
    casts = corpus.casts
    assert shared_entity_fraction(casts["A"], casts["B"]) == pytest.approx(overlap, abs=0.07)
    assert shared_entity_fraction(casts["A"], casts["C"]) == 0.0
    # the shared entities really occur in book B
    shared = casts["A"].entities() & casts["B"].entities()
    assert all(e in corpus.books["B"] for e in list(shared)[:5])


def test_background_holds_no_named_entity():
    corpus = generate(1, sentences=50, background_sentences=200)
    for cast in corpus.casts.values():
        assert not any(name in corpus.background for name in cast.characters + cast.places)


# ----------------------------------------------------------------------------- model pieces
def test_rouge_l_of_a_text_with_itself_is_one():
    text = "Nobody at Corlan Hall believed Arbel Torwen when she said so."
    assert lm.rouge_l([text], [text]) == [1.0]
    assert lm.rouge_l(["completely different words"], [text])[0] < 0.2


def test_lora_task_vector_is_the_product_of_its_factors_times_the_scaling():
    model, tok, corpus = _tiny()
    ids = torch.tensor(tok(corpus.books["A"])["input_ids"])
    peft_model, _ = lm.lora_finetune(
        model, ids, LMTrainConfig(steps=3, batch_size=4, seq_len=16, lr=1e-2), 4, 8.0, None
    )
    tv = lora_task_vector(peft_model, model)
    changed = {k for k, v in tv.items() if v.abs().max() > 0}
    assert changed and all("c_attn.weight" in k for k in changed)
    for name, module in peft_model.named_modules():
        if hasattr(module, "lora_A") and "default" in module.lora_A:
            A, B = module.lora_A["default"].weight, module.lora_B["default"].weight
            delta = (B @ A) * module.scaling["default"]
            key = name.replace("base_model.model.", "") + ".weight"
            expected = (
                delta.T if module.fan_in_fan_out else delta
            )  # GPT-2's Conv1D stores W transposed
            # (W + B A s) − W in float32: the rank-r product, then two roundings of size |W| + |ΔW|
            scale = parameters(model)[key].abs().max() + expected.abs().max()
            bound = tol(torch.float32, A.shape[0] + 2, scale)
            assert torch.allclose(tv[key], expected, rtol=0, atol=bound)
            assert torch.linalg.matrix_rank(tv[key]) <= 4


def test_editing_leaves_the_base_model_untouched():
    model, _, _ = _tiny()
    before = {k: v.clone() for k, v in parameters(model).items()}
    tv = {k: torch.ones_like(v) for k, v in before.items()}
    out = apply(model, [(-1.0, tv)])
    assert all(torch.equal(parameters(model)[k], before[k]) for k in before)
    assert all(  # one float32 rounding of Ψ − 1
        torch.allclose(
            parameters(out)[k],
            before[k] - 1,
            rtol=0,
            atol=tol(torch.float32, 1, before[k].abs().max() + 1),
        )
        for k in before
    )


def test_local_checkpoint_loads_and_runs_the_experiment(tmp_path):
    model, tok, _ = _tiny()
    ckpt = tmp_path / "ckpt"
    model.save_pretrained(ckpt)
    tok.save_pretrained(ckpt)
    loaded, tok2 = lm.load_local(ckpt)
    assert all(
        torch.equal(a, b)
        for a, b in zip(parameters(model).values(), parameters(loaded).values(), strict=True)
    )
    assert tok2("Arbel")["input_ids"] == tok("Arbel")["input_ids"]
    cfg = _compose([f"model.pretrained={ckpt}", *TINY_RUN, f"cache_dir={tmp_path / 'cache'}"])
    m = run_experiment(cfg, tmp_path / "out")
    assert set(m["rouge"]["full"]) == {"A", "B", "C"}


# ----------------------------------------------------------------------------- config checks
@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        (
            ["data.books=[/nonexistent/a.txt,/nonexistent/b.txt,/nonexistent/c.txt]"],
            r"^data\.books\[0\]='/nonexistent/a\.txt' is invalid: is not a readable file$",
        ),
        (
            ["eval.lam.max=-2"],
            r"^eval\.lam\.min=-1\.0 is invalid: must be < eval\.lam\.max=-2$",
        ),
        (
            ["train.lora.rank=200"],
            r"^train\.lora\.rank=200 is invalid: must be <= model\.n_embd=96",
        ),
        (["model.pretrained=/nonexistent"], r"^model\.pretrained='/nonexistent' is invalid"),
        (["data.overlap=1.5"], r"^data\.overlap=1\.5 is invalid: must be in \[0, 1\]$"),
    ],
)
def test_bad_lm_overrides_fail_before_any_work(overrides, pattern, tmp_path):
    with pytest.raises(ConfigError, match=pattern) as err:
        run_experiment(_compose(overrides), tmp_path / "out")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- tiny run
TINY_RUN = [
    "experiment.n_seeds=1",
    "eval.lam={min:-1.0,max:0.0,step:1.0}",
    "experiment.n_prompts=2",
    "experiment.prompt_tokens=8",
    "experiment.continuation_tokens=8",
    "data.sentences=60",
    "data.background_sentences=60",
    "model.n_embd=16",
    "model.n_layer=1",
    "model.n_head=2",
    "model.n_positions=32",
    "model.vocab_size=300",
    "train.pretrain.steps=3",
    "train.pretrain.seq_len=16",
    "train.finetune.steps=2",
    "train.finetune.seq_len=16",
    "train.lora.rank=2",
    "logging.wandb.mode=disabled",
]


def test_lm_unlearning_tiny_run(tmp_path):
    cfg = _compose([*TINY_RUN, f"cache_dir={tmp_path / 'cache'}"])
    m = run_experiment(cfg, tmp_path / "a")
    on_disk = load_metrics(tmp_path / "a" / "metrics.json")
    assert on_disk["lambdas"] == [0.0, -1.0]
    for kind in ("full", "lora"):
        assert set(on_disk["drop_percent"][kind]) == {"A", "B", "C"}
    assert m["models_trained"] == 1 + 4  # Ψ0′, A full, A LoRA, B, C
    assert (tmp_path / "a" / "lm_unlearning.png").stat().st_size > 1000
    headline_numbers(on_disk)
    again = run_experiment(cfg, tmp_path / "b")
    assert again["models_trained"] == 0
    assert again["rouge"] == m["rouge"]


# ----------------------------------------------------------------------------- claims rules
def _hand_made_results(rouge_end, loss_end, alpha_b, alpha_c, spread=0.0):
    """Three seeds; seed s adds (s − 1)·spread to every end value (0: every seed agrees)."""
    books, seeds = "ABC", (0, 1, 2)

    def triples(start, end):
        return [(s, 0.0, start) for s in seeds] + [(s, -1.0, end + (s - 1) * spread) for s in seeds]

    per_seed = {
        k: {
            b: {"rouge": triples(0.5, r), "loss": triples(2.0, v)}
            for b, r, v in zip(books, rouge_end, loss_end, strict=True)
        }
        for k in ("full", "lora")
    }
    per = {
        o: {q: [a] * 3 for q in ("logits", "logit_change", "task_vector")}
        for o, a in (("B", alpha_b), ("C", alpha_c))
    }
    return {
        "lambdas": [0.0, -1.0],
        "per_seed": per_seed,
        "alpha_hat_per_seed": per,
        "alpha_hat": {o: {q: {"mean": v[0]} for q, v in d.items()} for o, d in per.items()},
    }


@pytest.mark.parametrize(
    ("rouge_end", "loss_end", "alphas", "verdicts"),
    [
        ((0.1, 0.2, 0.4), (3.0, 2.5, 2.1), (0.5, 0.2), ["agrees", "agrees", "agrees"]),
        ((0.1, 0.45, 0.4), (3.0, 2.1, 2.5), (0.2, 0.5), ["disagrees", "disagrees", "disagrees"]),
        ((0.6, 0.2, 0.4), (2.5, 3.0, 2.1), (0.2, 0.2), ["disagrees", "disagrees", "disagrees"]),
    ],
)
def test_lm_claims_follow_the_stated_rules(rouge_end, loss_end, alphas, verdicts):
    from experiments.claims.lm import unlearning

    rows = unlearning(_hand_made_results(rouge_end, loss_end, *alphas))
    assert [r["verdict"] for r in rows] == [*verdicts[:2], *verdicts[:2], verdicts[2]]
    assert rows[0]["source"] == "Theorem 2 / Table 3" and rows[2]["source"] == "Theorem 2 / Table 4"
    assert "from λ = 0 to λ = -1" in rows[0]["criterion"]
    assert "(paper 0.498 > 0.239)" in rows[4]["criterion"]


def test_lm_claims_are_inconclusive_when_seeds_straddle_the_comparison():
    """Every seed agrees on the order, but B's drop spreads from 10% to 70% over three seeds: its
    interval reaches below 0."""
    from experiments.claims.lm import unlearning

    close = unlearning(_hand_made_results((0.1, 0.3, 0.35), (3.0, 2.5, 2.1), 0.5, 0.2, spread=0.15))
    assert close[0]["verdict"] == "inconclusive"
    tight = unlearning(_hand_made_results((0.1, 0.3, 0.35), (3.0, 2.5, 2.1), 0.5, 0.2))
    assert tight[0]["verdict"] == "agrees"
