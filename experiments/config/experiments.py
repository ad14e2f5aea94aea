"""The experiments' own keys (``experiment.*``): one schema per experiment name, whose defaults are
its standard values (a preset in ``conf/experiment/`` holds only its deltas)."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field

from synthetic.checks import check_choice, check_int, choice, each, integer, number, seed_field
from synthetic.checks import numbers as nums

Num = int | float
COUNTS = ("fixed", "random")
SIGNS = ("positive", "paired")
POS = {"low": 0.0, "low_open": True}  # (0, inf)
FRAC = {"low": 0.0, "high": 1.0}  # [0, 1]
KEEP = {**FRAC, "low_open": True}  # (0, 1]


def lst(*values: object) -> list:
    """A list default (checked elsewhere, with the keys it depends on)."""
    return field(default_factory=lambda: list(values))


@dataclass(kw_only=True)
class Lam:
    """A λ grid, the one spelling of every λ axis: min, min + step, ..., max (inclusive)."""

    min: Num = number()
    max: Num = number()
    step: Num = number(**POS)


def axis(lo: float, hi: float, step: float) -> Lam:
    return field(default_factory=lambda: Lam(min=lo, max=hi, step=step))


KAPPAS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


@dataclass(kw_only=True)
class Experiment:
    name: str = MISSING
    n_seeds: int = integer(5, lo=1)  # seeds first_seed .. first_seed + n_seeds - 1
    first_seed: int = seed_field(0)


@dataclass(kw_only=True)
class Foundation(Experiment):
    name: str = "foundation"
    estimator_output: str = choice("batch", "batch", "hidden")  # output vector of α̂
    low_rank: int = integer(1, lo=1)  # rank of the truncated task vectors reported (<= d)


@dataclass(kw_only=True)
class TaskPair(Experiment):
    name: str = "task_pair"
    label: str | None = None  # null: from the config that ran, e.g. "aligned, noisy (α = 0.8)"
    # seeds of the held-out pair on which β̂ is fitted (disjoint from the reported seeds)
    calibration_seeds: list[int] = lst(100, 101, 102)
    negation_c: Num = number(1.0, **POS)  # Theorem 2's constant c of λ ≥ −c/α², declared in advance


@dataclass(kw_only=True)
class PhaseDiagram(Experiment):
    name: str = "phase_diagram"
    alpha_min: Num = number(-1.0, low=-1.0, high=1.0)
    alpha_max: Num = number(1.0, low=-1.0, high=1.0)
    alpha_step: Num = number(0.1, **POS)
    calibration_seeds: list[int] = lst(100, 101, 102)  # held-out seeds of β̂ (as in task_pair)
    negation_c: Num = number(1.0, **POS)  # Theorem 2's constant c of λ ≥ −c/α², declared in advance


@dataclass(kw_only=True)
class Gradients(Experiment):
    """Task vectors as gradients (gradients.md); the preset explains the η grid."""

    name: str = "gradients"
    n_train: int = integer(512, lo=2)  # the fixed training set (one full batch = one epoch)
    loss: str = choice("logistic", "logistic", "hinge")  # smooth loss of parts 1-3
    lrs: list[Num] = nums([1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 1e-3, 1e-2, 1e-1], **POS)  # η grid
    exact_lr: Num = number(1.0, **POS)  # part 1 step size
    epochs: list[int] = each([2, 3, 5, 10], lambda k, v: check_int(k, v, minimum=1))  # k grid
    power_iters: int = integer(30, lo=1)  # power iteration on Hessian-vector products
    dominance_losses: list[str] = each(  # part 3: the fine-tuning loss and a smooth one
        ["hinge", "logistic"], lambda k, v: check_choice(k, v, ["hinge", "logistic"])
    )
    sgd_epochs: int = integer(10, lo=2)  # part 3: epochs of minibatch training
    sgd_batch: int = integer(64, lo=1)
    sgd_lr: Num = number(5.0, **POS)  # the project's fine-tuning step size (train.lr)
    adam_lr: Num = number(0.01, **POS)
    merge_tasks: int = integer(3, lo=2)  # part 4: orthonormal tasks merged (<= data.d - 1)
    merge_epochs: int = integer(20, lo=1)  # part 4: epoch budget of the converged runs


@dataclass(kw_only=True)
class Ood(Experiment):
    """Theorem 3 on the (λ1, λ2) grid eval.lam² (γ, κ and normalize: checked by ``target_of``)."""

    name: str = "ood"
    label: str | None = "paper's γ"
    gamma: list[Num] = lst(0.792, -0.637)
    kappa: Num | None = number(None, optional=True, **FRAC)  # null: sqrt(max(0, 1 - Σγ²))
    normalize: bool = True  # rescale (gamma, kappa) to a unit vector (if sum of squares <= 1.1)
    n_val: int = integer(512, lo=1)  # validation samples of T' (to choose the best point)
    estimator_output: str = choice("batch", "batch", "hidden")  # gamma-hat output vector
    beta: Num | None = number(None, optional=True, low=0.0)  # null: beta-hat (T1's hinge slope)
    kappas: list[Num] = nums(KAPPAS, empty=True, **FRAC)  # [] disables the kappa sweep
    sweep_lam: Lam = axis(-2.0, 3.0, 0.2)  # coarser λ axis of the kappa sweep and the gamma map
    sweep_n: int = integer(256, lo=1)  # validation and test samples per kappa
    gamma_map_step: Num | None = number(None, optional=True, **KEEP)  # null disables the map
    map_seeds: int = integer(2, lo=1)  # the first calibration seeds: the γ map is held out too
    calibration_seeds: list[int] = lst(100, 101, 102)  # held-out seeds of β̂ and the γ map
    # Theorem 3's c in (0, 1); null: the smallest c (steps of 0.01) whose region holds a grid point
    # given the held-out β̂ (the theorem's "there exists c", chosen without looking at T')
    theorem3_c: Num | None = number(
        None, optional=True, low=0.0, high=1.0, low_open=True, high_open=True
    )
    map_n: int = integer(256, lo=1)


@dataclass(kw_only=True)
class Edits(Experiment):
    """Corollaries 1-2 (low_rank, pruning): the edits of the task_pair and ood_span presets."""

    aligned_alpha: Num = number(0.8, **KEEP)  # the pairs of the task_pair presets
    contradictory_alpha: Num = number(-0.8, low=-1.0, high=0.0, high_open=True)
    ood_gamma: list[Num] = lst(0.2, -0.4)  # the ood_span target (kappa = sqrt(1 - sum gamma^2))
    ood_lam: Lam = axis(
        -2.0, 5.0, 1.0
    )  # both axes of the out-of-domain edit (pair edits: eval.lam)
    t1_lam: Lam = axis(0.5, 2.0, 0.5)  # T1's coefficient λ1 of the pair edits, re-chosen too
    n_eval: int = integer(256, lo=2)  # samples per task and split (validation, test) for every edit
    # success: hinge <= budget_eps x eps (and forgotten T2 hinge >= eval.forget_hinge), declared
    # before any run; the theorems' Theta(eps), read with the constant 2
    budget_eps: Num = number(2.0, low=1.0)
    # widenings of the grid (WIDEN_STEPS steps each) allowed per edit while its choice is on an edge
    max_widen: int = integer(2, lo=0)


@dataclass(kw_only=True)
class LowRank(Edits):
    name: str = "low_rank"
    ranks: list[int] = lst(1, 2, 4, 8, 32)  # each <= min(d, m) (checked with the model)


@dataclass(kw_only=True)
class Pruning(Edits):
    name: str = "pruning"
    keep: list[Num] = nums([0.5, 0.3, 0.2, 0.1], **KEEP)  # kept fractions (1: the full edits)


@dataclass(kw_only=True)
class CDigits(Experiment):
    """Coloured digits: (r_o, r_e) = fractions of red among odd / even digits (``rates``)."""

    n_seeds: int = integer(3, lo=1)
    t1: list[Num] = lst(1.0, 0.0)
    estimator_output: str = choice("batch", "batch", "features")  # batch | features (pooled)
    min_own_accuracy: Num = number(0.9, **FRAC)


@dataclass(kw_only=True)
class CDigitsPair(CDigits):
    name: str = "cdigits_pair"
    pairs: dict[str, list[Num]] = field(
        default_factory=lambda: {
            "irrelevant": [0.5, 0.5],
            "aligned": [0.9, 0.1],
            "contradictory": [0.0, 1.0],
        }
    )


@dataclass(kw_only=True)
class CDigitsOod(CDigits):
    name: str = "cdigits_ood"
    t1: list[Num] = lst(0.85, 0.15)
    t2: list[Num] = lst(0.05, 0.95)
    target: list[Num] = lst(0.9, 0.1)
    high_accuracy: Num = number(0.95, **KEEP)  # region: accuracy >= this x fine-tuned on T'
    calibration_seeds: list[int] = lst(100, 101, 102)  # held-out seeds the wedge is fitted on


@dataclass(kw_only=True)
class CDigitsCompress(CDigitsPair):
    name: str = "cdigits_compress"
    ranks: list[int] = lst(1, 2, 4, 8, 16)  # each matrix truncated to min(r, its rank); <= dim
    keep: list[Num] = nums([0.5, 0.2, 0.1, 0.05], **KEEP)  # magnitude pruning, kept fraction
    n_eval: int = integer(256, lo=1)  # validation and test digits per task
    # the compressed edit's test score may drop by at most this (per seed, by the seed interval)
    tolerance: Num = number(0.05, **FRAC)
    t1_lam: Lam = axis(0.0, 2.0, 1.0)  # T1's coefficient axis of the validation grid (λ2: eval.lam)
    max_widen: int = integer(
        2, lo=0
    )  # times an axis is widened when the choice lies on its open edge
    widen_steps: int = integer(1, lo=1)  # steps added to that end of the axis per widening


@dataclass(kw_only=True)
class GradientsViT(Experiment):
    """The gradient paper on the ViT (gradients.md §4.2-4.3); the preset explains every choice."""

    name: str = "gradients_vit"
    n_seeds: int = integer(3, lo=1)
    tasks: list[str] = lst("parity", "high", "prime", "mod3", "red", "parity_xor_red")
    n_train: int = integer(768, lo=2)  # training digits per task (the first of the train split)
    n_eval: int = integer(200, lo=10)  # validation and test digits per task
    epochs: int = integer(10, lo=2)  # epoch budget of every run; a checkpoint after each epoch
    batch_size: int = integer(32, lo=1)
    sgd_lr: Num = number(0.03, **POS)  # plain SGD: no momentum, weight decay, clipping, schedule
    adam_lr: Num = number(0.001, **POS)
    conv_tol: Num = number(0.01, **FRAC)  # converged: first epoch within this of the best val acc
    merge_optimizers: list[str] = each(["adam"], lambda k, v: check_choice(k, v, ["sgd", "adam"]))
    set_sizes: list[int] = each([2, 4], lambda k, v: check_int(k, v, minimum=2))  # + all tasks
    sets_per_size: int = integer(5, lo=1)  # task sets drawn per size and seed
    alphas: list[Num] = nums([0.2, 0.4, 0.6, 0.8, 1.0], **POS)  # task-arithmetic α (validation)
    fractions: list[Num] = nums([0.1, 0.2, 0.3, 0.5, 0.7, 1.0], **KEEP)  # of the epoch budget
    exact_n: int = integer(128, lo=2)  # training digits of the full-batch float64 part
    exact_lr: Num = number(0.1, **POS)
    lrs: list[Num] = nums([1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1], **POS)  # η grid
    ks: list[int] = each([2, 5, 10], lambda k, v: check_int(k, v, minimum=1))  # GD epochs k


@dataclass(kw_only=True)
class LMUnlearning(Experiment):
    name: str = "lm_unlearning"
    n_seeds: int = integer(3, lo=1)
    n_prompts: int = integer(48, lo=1)  # held-out prompts per book
    prompt_tokens: int = integer(24, lo=1)
    continuation_tokens: int = integer(24, lo=1)


@dataclass(kw_only=True)
class RegimeSearch(Experiment):
    """A grid of knobs searched for the cheapest configuration meeting the scope rule."""

    name: str = "regime_search"
    first_seed: int = seed_field(100)  # held out: never the theorem experiments' seeds (< 100)
    # each knob: the values searched (a one-value list keeps the base config's value)
    counts: list[str] = each(["fixed", "random"], lambda k, v: check_choice(k, v, COUNTS))
    noise_std: list[Num] = nums([0.0], low=0.0)
    irrelevant_signs: list[str] = each(["positive"], lambda k, v: check_choice(k, v, SIGNS))
    delta_star: list[Num] = nums([0.25], low=0.0, high=1.0, low_open=True)
    d: list[int] = each([32], lambda k, v: check_int(k, v, minimum=3))
    n_tokens: list[int] = each([16], lambda k, v: check_int(k, v, minimum=1))
    v0_std: list[Num] = nums([0.01, 1.0], low=0.0)
    width: list[int] = each([64], lambda k, v: check_int(k, v, minimum=2))
    lr: list[Num] = nums([5.0], **POS)
    lr_w_scale: list[Num] = nums([1.0], **POS)
    margin: list[Num] = nums([1.0], **POS)
    batch_size: list[int] = each([64], lambda k, v: check_int(k, v, minimum=1))


@dataclass(kw_only=True)
class Scaling(Experiment):
    """The three finite-size sweeps of ``experiments.one_layer.scaling``."""

    name: str = "scaling"
    n_seeds: int = integer(5, lo=2)  # ≥ 2: every slope carries a seed interval
    dims: list[int] = each([32, 64, 128, 256], lambda k, v: check_int(k, v, minimum=4))
    v0_stds: list[Num] = nums([0.01, 0.1, 1.0], low=0.0)
    widths: list[int] = each([32, 64, 128, 256], lambda k, v: check_int(k, v, minimum=2))
    batches: list[int] = each([16, 64, 256], lambda k, v: check_int(k, v, minimum=1))
    negation_c: Num = number(1.0, **POS)  # Theorem 2's c: the λ range of β̂ (as in task_pair)


ONE_LAYER = (
    Foundation,
    TaskPair,
    PhaseDiagram,
    Gradients,
    Ood,
    LowRank,
    Pruning,
    RegimeSearch,
    Scaling,
)
SCHEMAS: dict[str, type[Experiment]] = {
    c().name: c
    for c in (*ONE_LAYER, CDigitsPair, CDigitsOod, CDigitsCompress, GradientsViT, LMUnlearning)
}
