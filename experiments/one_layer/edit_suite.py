"""The models and data of the compression edits (``edits``): per seed Ψ0, the fine-tuned models of
the three pairs and of the out-of-domain target's T1 and T2 (the cache shares them with the
``task_pair`` and ``ood_span`` presets), validation and test sets, and the mechanism audit of every
fine-tuned model (``models.mechanism``; the scope rule is ``experiments.theory.scope``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from experiments.config import Setup, lam_grid, seeds_of
from experiments.one_layer.common import hypotheses_of, psi0_for_seed, test_set, train_all
from experiments.one_layer.ood_common import TARGET, geometry_for, val_set
from models.cache import ModelCache
from models.mechanism import mechanism
from models.task_vectors import TaskVector
from synthetic.tasks import make_tasks

PAIRS = ("irrelevant", "aligned", "contradictory")


@dataclass
class EditSuite:
    """Everything needed to evaluate the edits for any transform: per seed Ψ0, vectors and data."""

    seeds: list[int]
    psi0s: dict
    pair_vectors: dict  # (seed, pair) -> (τ1, τ2)
    pair_data: dict  # (seed, pair) -> {"val": {"T1": batch, "T2": batch}, "test": {...}}
    ood_vectors: dict  # seed -> [τ1, τ2]
    ood_data: dict  # seed -> {"val": {"T'": batch}, "test": {"T'": batch}}
    lams: np.ndarray  # λ2 axis of the pair edits (eval.lam)
    t1_axis: np.ndarray  # λ1 axis of the pair edits (experiment.t1_lam)
    ood_axis: np.ndarray  # both axes of the out-of-domain edit (experiment.ood_lam)
    models_requested: int
    models_trained: int
    mechanism: dict[str, dict] = field(default_factory=dict)  # "<group>/<task>/seed<s>" -> audit
    hypotheses: dict[str, float] = field(default_factory=dict)

    def vectors(self) -> dict[str, TaskVector]:
        """Every distinct task vector, named "<pair or ood>/<task>/seed<s>" (for spectra and row norms)."""
        out = {}
        for (s, pair), (t1, t2) in self.pair_vectors.items():
            if pair == "irrelevant":
                out[f"T1/seed{s}"] = t1
            out[f"{pair} T2/seed{s}"] = t2
        for s, (t1, t2) in self.ood_vectors.items():
            out[f"ood T1/seed{s}"] = t1
            out[f"ood T2/seed{s}"] = t2
        return out


def pair_alphas(exp: dict) -> dict[str, float]:
    return {
        "irrelevant": 0.0,
        "aligned": float(exp["aligned_alpha"]),
        "contradictory": float(exp["contradictory_alpha"]),
    }


def _pair_tasks(setup: Setup, exp: dict) -> dict[str, dict]:
    """The tasks of the three pairs (irrelevant, aligned, contradictory), by pair."""
    return {
        pair: make_tasks(replace(setup, alpha=alpha).geometry(), setup.tokens)
        for pair, alpha in pair_alphas(exp).items()
    }


def _splits(tasks: dict, n: int, s: int) -> dict[str, dict]:
    return {
        "val": {k: val_set(t, n, s) for k, t in tasks.items()},
        "test": {k: test_set(t, n, s) for k, t in tasks.items()},
    }


def prepare(setup: Setup, c: dict, cache: ModelCache | None = None, *, progress: bool) -> EditSuite:
    """Fine-tune (or fetch) every model the edits need, sample their data and audit every model."""
    from experiments.config import target_of

    exp, ev = c["experiment"], c["eval"]
    seeds = seeds_of(exp)
    cache = cache if cache is not None else ModelCache(c.get("cache_dir"))
    groups = _pair_tasks(setup, exp)
    target = target_of({"ood_gamma": exp["ood_gamma"]}, gamma_key="ood_gamma")
    groups["ood"] = make_tasks(geometry_for(setup, target["gamma"], target["kappa"]), setup.tokens)
    psi0s = {s: psi0_for_seed(setup, s) for s in seeds}
    jobs = {
        (s, g, n): (psi0s[s], groups[g][n], n, s)
        for s in seeds
        for g in groups
        for n in ("T1", "T2")
    }
    trained = train_all(jobs, setup, cache, batched=c.get("batched", "auto"), progress=progress)

    def tv(s, group, n):
        return TaskVector.from_models(psi0s[s], trained.results[(s, group, n)].model)

    n = exp["n_eval"]
    pair_data = {
        (s, p): _splits({k: groups[p][k] for k in ("T1", "T2")}, n, s) for s in seeds for p in PAIRS
    }
    audits = {}
    for (s, g, name), res in trained.results.items():
        own = pair_data[(s, g)]["test"][name] if g in PAIRS else test_set(groups[g][name], n, s)
        audits[f"{g}/{name}/seed{s}"] = mechanism(psi0s[s], res.model, groups[g][name].mu, own)
    steps = [r.history.steps_run for r in trained.results.values()]
    return EditSuite(
        seeds=seeds,
        psi0s=psi0s,
        pair_vectors={(s, p): (tv(s, p, "T1"), tv(s, p, "T2")) for s in seeds for p in PAIRS},
        pair_data=pair_data,
        ood_vectors={s: [tv(s, "ood", "T1"), tv(s, "ood", "T2")] for s in seeds},
        ood_data={s: _splits({TARGET: groups["ood"][TARGET]}, n, s) for s in seeds},
        lams=np.asarray(lam_grid(ev["lam"])),
        t1_axis=np.asarray(lam_grid(exp["t1_lam"])),
        ood_axis=np.asarray(lam_grid(exp["ood_lam"])),
        models_requested=trained.requested,
        models_trained=trained.trained,
        mechanism=audits,
        hypotheses=hypotheses_of(setup, ev["eps"], steps),
    )
