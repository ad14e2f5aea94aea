"""``experiments.compare`` (``make compare OLD=dir NEW=dir``): planted differences are found, rounding is not."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from experiments.compare import main as compare_main

METRICS = {
    "job_key": "abc",
    "experiment": "task_pair",
    "config": {"data": {"alpha": 0.5, "noise_std": 0.0}, "experiment": {"n_seeds": 2}},
    "lambdas": [-1.0, -0.5, 0.0, 0.5, 1.0],
    "T1": {"acc_mean": [0.5, 0.75, 1.0, 0.98, 0.9], "hinge_mean": [1.2, 0.4, 0.0, 0.01, 0.1]},
    "alpha_hat": {"mean": 0.4987654321, "std": 0.0123},
    "flagged_runs": [],
    "claims": [{"claim": "Theorem 1", "measured": "λ* = 0.5", "verdict": "consistent"}],
}


def _tree(root, jobs: dict[str, dict]):
    for job, metrics in jobs.items():
        (root / job).mkdir(parents=True)
        (root / job / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))
    return root


def _compare(tmp_path, old_jobs, new_jobs, capsys) -> tuple[int, str]:
    old = _tree(tmp_path / "old", old_jobs)
    new = _tree(tmp_path / "new", new_jobs)
    code = compare_main([str(old), str(new)])
    return code, capsys.readouterr().out


def _changed(edit) -> dict:
    m = copy.deepcopy(METRICS)
    edit(m)
    return m


def test_identical_trees_compare_equal(tmp_path, capsys):
    jobs = {"task_pair_aligned": METRICS, "sweep/alpha=0.5": METRICS}
    code, out = _compare(tmp_path, jobs, copy.deepcopy(jobs), capsys)
    assert code == 0
    assert "2 jobs compared, 0 differ" in out


def test_float_rounding_and_job_key_are_not_differences(tmp_path, capsys):
    def edit(m):
        m["alpha_hat"]["mean"] *= 1 + 4 * 2.0**-52  # a few float64 ulps
        # a float32 round trip: relative change <= 2**-24 (float32's unit roundoff), far inside rtol 1e-6
        m["T1"]["acc_mean"][3] = float(np.float32(0.98))
        m["job_key"] = "def"  # a hash of the code: ignored

    new = _changed(edit)
    assert new["alpha_hat"]["mean"] != METRICS["alpha_hat"]["mean"]
    assert new["T1"]["acc_mean"][3] != 0.98
    code, out = _compare(tmp_path, {"j": METRICS}, {"j": new}, capsys)
    assert code == 0, out
    assert "j: identical" in out


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda m: m["T1"]["acc_mean"].__setitem__(3, 0.98 * (1 + 1e-5)), "/T1/acc_mean[3]"),
        (lambda m: m["alpha_hat"].__setitem__("std", 0.0124), "/alpha_hat/std"),
        (lambda m: m["claims"][0].__setitem__("verdict", "inconsistent"), "/claims[0]/verdict"),
        (lambda m: m["alpha_hat"].pop("std"), "/alpha_hat/std: missing in new"),
        (lambda m: m["lambdas"].pop(), "/lambdas: length 5 -> 4"),
        (lambda m: m["config"]["data"].__setitem__("alpha", 0.6), "/config/data/alpha"),
        (lambda m: m.__setitem__("flagged_runs", None), "/flagged_runs"),
        (
            lambda m: m["config"]["experiment"].__setitem__("n_seeds", True),
            "/config/experiment/n_seeds",
        ),
    ],
    ids=[
        "number-beyond-rtol",
        "number",
        "string",
        "missing-key",
        "list-length",
        "config",
        "type",
        "bool-for-int",
    ],
)
def test_a_planted_difference_is_found(tmp_path, capsys, edit, where):
    code, out = _compare(
        tmp_path, {"j": METRICS, "k": METRICS}, {"j": _changed(edit), "k": METRICS}, capsys
    )
    assert code == 1
    assert where in out
    assert "j: 1 differences" in out and "k: identical" in out
    assert "2 jobs compared, 1 differ" in out


@pytest.mark.parametrize("missing_in", ["old", "new"])
def test_a_missing_job_is_a_difference(tmp_path, capsys, missing_in):
    both = {"j": METRICS, "k": METRICS}
    one = {"j": METRICS}
    old, new = (one, both) if missing_in == "old" else (both, one)
    code, out = _compare(tmp_path, old, new, capsys)
    assert code == 1
    assert f"k: only in {'new' if missing_in == 'old' else 'old'}" in out
    assert "2 jobs compared, 1 differ" in out


def test_a_missing_tree_is_a_usage_error(tmp_path, capsys):
    _tree(tmp_path / "old", {"j": METRICS})
    assert compare_main([str(tmp_path / "old"), str(tmp_path / "nowhere")]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_a_key_added_in_new_is_listed_but_not_a_difference(tmp_path, capsys):
    code, out = _compare(
        tmp_path, {"j": METRICS}, {"j": _changed(lambda m: m.__setitem__("extra", 1))}, capsys
    )
    assert code == 0, out
    assert "j: identical (1 keys added: /extra)" in out


def test_volatile_keys_are_ignored(tmp_path, capsys):
    def timing(m):
        m["summary"] = {"train_seconds": 1.0}

    old = _changed(timing)
    new = _changed(lambda m: m.__setitem__("summary", {"train_seconds": 2.0}))
    code, out = _compare(tmp_path, {"j": old}, {"j": new}, capsys)
    assert code == 0, out


def test_skip_leaves_out_a_renamed_config_but_never_a_measurement(tmp_path, capsys):
    def rename(m):  # e.g. experiment.n_seeds -> experiment.seeds.n
        m["config"]["experiment"] = {"seeds": {"n": m["config"]["experiment"].pop("n_seeds")}}

    def rename_and_change(m):
        rename(m)
        m["T1"]["acc_mean"][0] += 1e-3

    code, out = _compare(tmp_path, {"j": METRICS}, {"j": _changed(rename)}, capsys)
    assert code == 1 and "/config/experiment/n_seeds: missing in new" in out
    for edit, expected in ((rename, 0), (rename_and_change, 1)):
        old, new = tmp_path / f"o{expected}", tmp_path / f"n{expected}"
        for root, m in ((old, METRICS), (new, _changed(edit))):
            (root / "j").mkdir(parents=True)
            (root / "j" / "metrics.json").write_text(json.dumps(m))
        assert compare_main([str(old), str(new), "--skip", "/config"]) == expected
    out = capsys.readouterr().out
    assert "skipped: /config" in out and "/T1/acc_mean[0]" in out and "n_seeds" not in out
