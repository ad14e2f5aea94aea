"""``metrics.json`` / ``run.json`` split: the volatile part holds only volatile keys (no copies of
the numbers' shape), and merging the two gives the metrics back."""

from experiments.io import merge_volatile, split_volatile


def test_nested_number_lists_leave_nothing_in_the_volatile_part():
    metrics = {"acc_mean": [[0.5, None], [1.0, 0.25]], "empty": [], "table": [{"x": [1, 2]}]}
    stable, vol = split_volatile(metrics)
    assert stable == metrics and vol == {}


def test_volatile_keys_deep_in_lists_keep_their_place_and_merge_back():
    metrics = {
        "wall_seconds": 3.5,
        "rows": [{"k": 1, "seconds": 0.2}, {"k": 2}, {"k": 3, "seconds": 0.4}],
        "grid": [[1.0, 2.0]],
        "config": {"seed": 0, "progress": True},
    }
    stable, vol = split_volatile(metrics)
    assert stable == {"rows": [{"k": 1}, {"k": 2}, {"k": 3}], "grid": [[1.0, 2.0]],
                      "config": {"seed": 0}}  # fmt: skip
    assert vol == {"wall_seconds": 3.5, "rows": [{"seconds": 0.2}, {}, {"seconds": 0.4}],
                   "config": {"progress": True}}  # fmt: skip
    assert merge_volatile(stable, vol) == metrics
