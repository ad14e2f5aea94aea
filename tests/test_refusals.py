"""Inputs that used to end in a traceback, a runaway or a silently wrong result (issue 16): each is
refused before any work with one line naming its key, or runs correctly."""

import os

import pytest
from composed import composed as _compose

from experiments.run import run_experiment
from synthetic import ConfigError


@pytest.mark.parametrize(
    ("override", "pattern"),
    [
        (
            "model.width=1000000000",
            r"^model\.width=1000000000 is invalid: the model's weights would",
        ),
        (
            "train.batch_size=100000000",
            r"^train\.batch_size=100000000 is invalid: one training batch",
        ),
        ("data.d=1000000", r"^data\.d=1000000 is invalid: the pattern basis \(d x d\) would need"),
        (
            "data.noise_std=1e30",
            r"^data\.noise_std=1e\+30 is invalid: must be < 4\.08e\+17 \(tokens",
        ),
        (
            "model.seed=100000000000000000000",
            r"^model\.seed=100000000000000000000 is invalid: must be <= 9223372036854775807$",
        ),
        (
            "experiment.first_seed=9223372036854775807",
            r"^experiment\.n_seeds=5 is invalid: the last seed must be <= 9223372036854775807$",
        ),
        (
            "model.seed=9223372036854775807",
            r"^model\.seed=9223372036854775807 is invalid: Ψ0's seed model\.seed \+ 4 must be <= ",
        ),
        (
            "data.basis_seed=9223372036854775808",
            r"^data\.basis_seed=9223372036854775808 is invalid: must be <= ",
        ),
    ],
)
def test_sizes_seeds_and_overflow_are_refused_with_their_key(override, pattern, tmp_path):
    """Bounds from physics: memory that is not there, seeds past the generators' 64 bits, tokens
    that would overflow float32 (issue 16's runaway and traceback inputs)."""
    cfg = _compose(["experiment=task_pair_irrelevant", override])
    with pytest.raises(ConfigError, match=pattern) as err:
        run_experiment(cfg, tmp_path / "out")
    assert "\n" not in str(err.value) and not (tmp_path / "out").exists()


def test_a_vit_too_large_for_memory_is_refused_with_model_dim(tmp_path):
    cfg = _compose(["experiment=cdigits_pair", "model.dim=100000", "model.heads=1"])
    with pytest.raises(ConfigError, match=r"^model\.dim=100000 is invalid: the ViT's weights"):
        run_experiment(cfg, tmp_path / "out")


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["-m", "data.alpha=0.0,5"],
            "data.alpha=5 is invalid: must be in [-1, 1] (job 2 of 2: data.alpha=5)",
        ),
        (
            ["-m", "experiment=task_pair_sweep", "data.d=2"],
            "data.d=2 is invalid: must be >= 3 (2 task directions + at least 1 irrelevant pattern)"
            " (job 1 of 3: data.alpha=-0.8)",
        ),
        (["-m", "data.alpha=0.1,0.2", "model.width=64,128"], None),
        (
            ["experiment=foundation", "data=cdigits"],
            "model.d is invalid: Interpolation key 'data.d' not found",
        ),
    ],
)
def test_every_job_of_a_sweep_is_checked_before_the_first_runs(argv, line):
    """A sweep whose second job is invalid stops before its first job (which used to run)."""
    from experiments.config.compose import composition_problem

    assert composition_problem(argv) == line


def test_long_overrides_give_a_short_job_directory_name():
    from experiments.config.schema import MAX_NAME, job_dir

    short = "data.alpha=0.5,model.width=128"
    assert job_dir(short) == short
    long = ",".join(f"train.key{i}=value{i}" for i in range(20))
    name = job_dir(long)
    assert len(name.encode()) <= MAX_NAME < 255 and name.startswith("train.key0=value0")
    assert (
        job_dir(long) == name and job_dir(long + "x") != name
    )  # stable, and distinct per overrides
    assert "/" not in job_dir("data.root=/" + "a" * 300)


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        (["cache_dir=/proc/nope"], r"^cache_dir='/proc/nope' is invalid: cannot write there"),
        (
            ["cache_dir=/etc/hostname/sub"],
            r"^cache_dir='/etc/hostname/sub' is invalid: cannot write",
        ),
        (
            ["experiment=lm_unlearning", "dtype=float64"],
            r"^dtype='float64' is invalid: must be one of \['float32'\]$",
        ),
        (
            ["experiment=cdigits_pair", "data.root=/nonexistent"],
            r"^data\.root='/nonexistent' is invalid: is only read with data\.source=mnist",
        ),
    ],
)
def test_ignored_or_unusable_values_are_refused_before_any_work(overrides, pattern, tmp_path):
    """Values that used to be silently ignored (a dtype, a root) or to fail after training (a cache
    directory that cannot be written) are refused first, naming their key."""
    cfg = _compose(overrides)
    with pytest.raises(ConfigError, match=pattern) as err:
        run_experiment(cfg, tmp_path / "out")
    assert "\n" not in str(err.value) and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("content", "key", "pattern"),
    [
        (
            b"\xff\xfe\x00binary\x00",
            "data.books",
            r"^data\.books\[0\]=.* is invalid: a\.txt is not UTF-8 text",
        ),
        (
            b"{not json",
            "model.pretrained",
            r"^model\.pretrained=.* is invalid: config\.json is not JSON",
        ),
        (b'{"hidden_size": 8}', "model.pretrained", r"^model\.pretrained=.* has no model_type"),
    ],
)
def test_binary_books_and_bogus_checkpoints_are_refused_in_one_line(
    tmp_path, content, key, pattern
):
    if key == "data.books":
        books = [tmp_path / n for n in ("a.txt", "b.txt", "c.txt")]
        books[0].write_bytes(content)
        for b in books[1:]:
            b.write_text("Some text.\n")
        override = f"data.books=[{','.join(map(str, books))}]"
    else:
        (tmp_path / "config.json").write_bytes(content)
        override = f"model.pretrained={tmp_path}"
    cfg = _compose(["experiment=lm_unlearning", override])
    with pytest.raises(
        ConfigError, match=pattern.replace("has no", "is invalid: config.json has no")
    ):
        run_experiment(cfg, tmp_path / "out")


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["+hydra.bogus=1"], "hydra.bogus is not a valid key: Hydra does not read 'bogus' there"),
        (
            ["++hydra.run.bogus=1"],
            "hydra.run.bogus is not a valid key: Hydra does not read 'bogus' there",
        ),
        (["+hydra.job.env_set.FOO=1"], None),  # a free mapping: adding a key there is its use
    ],
)
def test_a_key_added_to_hydras_schema_is_refused(argv, line):
    from experiments.config.compose import composition_problem

    assert composition_problem(argv) == line


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        (
            ["experiment=lm_unlearning", "experiment.n_prompts=100000"],
            r"^experiment\.n_prompts=100000 is invalid: one batch of prompts .* would need",
        ),
        (
            ["experiment.n_seeds=100000"],
            r"^experiment\.n_seeds=100000 is invalid: the models and test sets of every seed would",
        ),
        (["eval.memory_mb=1e-6"], r"^eval\.memory_mb=1e-06 is invalid: must be in \[1, inf\)$"),
        (
            ["eval.lam.min=-1e300"],
            r"^eval\.lam\.step=0\.1 is invalid: the axis would have more than 100000",
        ),
        (
            ["experiment=ood", "eval.lam.step=0.001"],
            r"^eval\.lam\.step=0\.001 is invalid: the axis would have more than 1000 points$",
        ),
    ],
)
def test_runaway_sizes_are_refused_in_one_line(overrides, pattern, tmp_path):
    cfg = _compose(overrides)
    with pytest.raises(ConfigError, match=pattern):
        run_experiment(cfg, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_slurm_launcher_needs_slurm(monkeypatch):
    import shutil

    from experiments.run import precheck_output_dirs

    monkeypatch.setattr(shutil, "which", lambda tool: None)
    line = precheck_output_dirs(["-m", "hydra/launcher=slurm"])
    assert line == "hydra/launcher=slurm is invalid: sbatch is not on PATH (use a SLURM login node)"
    monkeypatch.setattr(shutil, "which", lambda tool: f"/usr/bin/{tool}")
    assert precheck_output_dirs(["-m", "hydra/launcher=slurm"]) is None


@pytest.mark.parametrize(
    ("errno_", "reason"), [(28, "No space left on device"), (30, "Read-only file system")]
)
def test_a_full_or_read_only_file_system_is_refused_before_any_work(
    tmp_path, monkeypatch, errno_, reason
):
    """The directory probe writes (and syncs) 64 KiB, so a full or read-only file system fails it
    (measured on real tmpfs mounts too: see the README's table)."""
    from synthetic.checks import check_writable_dir

    def refuse(fd):
        raise OSError(errno_, os.strerror(errno_))

    monkeypatch.setattr(os, "fsync", refuse)
    with pytest.raises(
        ConfigError, match=rf"^cache_dir='.*' is invalid: cannot write there \({reason}\)$"
    ):
        check_writable_dir("cache_dir", str(tmp_path / "cache"))
    monkeypatch.undo()
    assert check_writable_dir("cache_dir", str(tmp_path / "cache")) == str(tmp_path / "cache")
    assert list(tmp_path.iterdir()) == []  # the probe leaves nothing behind


def test_a_mistyped_wandb_value_is_refused_at_composition():
    """``logging.wandb.tags=5`` used to exit 0 and lose the wandb run."""
    from experiments.config.compose import composition_problem

    assert composition_problem(["logging.wandb.tags=5"]).startswith(
        "logging.wandb.tags=5 is invalid:"
    )


def test_a_new_entry_of_a_free_mapping_needs_a_plus():
    """``experiment.pairs.x=…`` used to end in a TypeError inside the error formatting."""
    from experiments.config.compose import composition_problem

    line = composition_problem(["experiment=cdigits_compress", "experiment.pairs.x=[0.5,0.5]"])
    assert (
        line
        == "experiment.pairs.x is not a valid key: add a new entry with +experiment.pairs.x=..."
    )


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        (
            ["experiment=task_pair_irrelevant", "experiment.calibration_seeds=[2,100]"],
            r"^experiment\.calibration_seeds=\[2, 100\] is invalid: must be disjoint from the "
            r"reported seeds \(both hold \[2\]\)$",
        ),
        (
            ["experiment=phase_diagram", "experiment.calibration_seeds=[]"],
            r"^experiment\.calibration_seeds=\[\] is invalid: a non-empty list of seeds$",
        ),
        (
            ["experiment=regime_search", "experiment.first_seed=0"],
            r"^experiment\.first_seed=0 is invalid: must be >= 100: the search runs on seeds",
        ),
        (
            ["experiment=regime_search", "experiment.counts=[fixed,often]"],
            r"^experiment\.counts\[1\]='often' is invalid: must be one of \['fixed', 'random'\]$",
        ),
        (
            ["experiment=regime_search", "experiment.width=[64,100000000000]"],
            r"^model\.width=100000000000 is invalid: the model's weights would",
        ),
    ],
)
def test_held_out_seeds_and_search_knobs_are_refused_before_work(overrides, pattern, tmp_path):
    """β̂'s seeds must be held out, the regime search's seeds too, and every knob combination of the
    search is a valid config (checked before the first combination trains)."""
    with pytest.raises(ConfigError, match=pattern) as err:
        run_experiment(_compose(overrides), tmp_path / "out")
    assert "\n" not in str(err.value) and not (tmp_path / "out").exists()
