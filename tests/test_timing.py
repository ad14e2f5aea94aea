"""``make time-reproduce`` (``experiments.timing``): GNU time reports, medians, the README table, and
the whole path on a stand-in repository whose ``make reproduce`` writes two jobs."""

import json
from pathlib import Path

import pytest

from experiments import timing

REPORT = """\tCommand being timed: "make reproduce"
\tUser time (seconds): 1580.25
\tSystem time (seconds): 40.50
\tPercent of CPU this job got: 193%
\tElapsed (wall clock) time (h:mm:ss or m:ss): 13:58.20
\tMaximum resident set size (kbytes): 2097152
\tExit status: 0
"""


def test_gnu_time_report_is_parsed_with_minutes_and_hours():
    u = timing.parse_gnu_time(REPORT)
    assert u == {
        "user_seconds": 1580.25,
        "system_seconds": 40.5,
        "cpu_percent": 193.0,
        "wall_seconds": 13 * 60 + 58.2,
        "max_rss_kb": 2097152.0,
    }
    hours = REPORT.replace("13:58.20", "1:02:03.5")
    assert timing.parse_gnu_time(hours)["wall_seconds"] == pytest.approx(3723.5)
    with pytest.raises(ValueError, match="wall_seconds"):
        timing.parse_gnu_time(REPORT.replace("Elapsed", "Lapsed"))


def _run(label, wall, jobs):
    return {"label": label, "commit": "abc", "wall_seconds": wall, "user_seconds": wall * 1.9,
            "system_seconds": 1.0, "cpu_percent": 190.0, "max_rss_kb": 1.0, "jobs": jobs}  # fmt: skip


def test_medians_per_label_and_per_job_and_the_table():
    runs = [
        _run("after", 900.0, {"a": 50.0, "proof/b": 8.0}),
        _run("before", 1700.0, {"a": 100.0, "proof/b": 10.0}),
        _run("after", 840.0, {"a": 70.0}),  # a job missing from one run: median of the others
        _run("after", 600.0, {"a": 60.0, "proof/b": 6.0}),
    ]
    s = timing.summarize(runs)
    assert list(s) == ["after", "before"] and s["after"]["n"] == 3
    assert s["after"]["wall_seconds"] == 840.0 and s["before"]["wall_seconds"] == 1700.0
    assert s["after"]["jobs"] == {"a": 60.0, "proof/b": 7.0}
    runs[1]["make_args"] = ["JOBS=1", "THREADS=2"]
    lines = timing.timing_lines({"runs": runs})
    assert "| command | `make reproduce JOBS=1 THREADS=2` | `make reproduce` |" in lines
    assert lines[0] == "| | before (1 run) | after (3 runs) |"
    assert "| **whole `make reproduce`** | **28.3 min** | **14.0 min** |" in lines  # before first
    assert "| speed-up over before | 1.00× | 2.02× |" in lines
    assert lines.index("| `a` | 100 s | 60 s |") < lines.index("| `proof/b` | 10 s | 7 s |")


FAKE_MAKEFILE = """reproduce:
\tmkdir -p $(RESULTS)/a $(RESULTS)/proof/b
\techo '{"wall_seconds": 1.5}' > $(RESULTS)/a/run.json
\techo '{"wall_seconds": 2.5}' > $(RESULTS)/proof/b/run.json
\techo "$(JOBS) $$TA_CACHE_DIR" > $(OUT)
"""


def test_each_run_is_a_cold_cache_make_reproduce_recorded_in_timing_json(tmp_path):
    repo, out, seen = tmp_path / "repo", tmp_path / "timing.json", tmp_path / "seen.txt"
    repo.mkdir()
    (repo / "Makefile").write_text(FAKE_MAKEFILE)
    args = ["--label", "after", "--runs", "2", "--repo", str(repo), "--out", str(out)]
    assert timing.main([*args, "--", "JOBS=7", f"OUT={seen}"]) == 0
    runs = json.loads(out.read_text())["runs"]
    assert len(runs) == 2 and all(r["label"] == "after" for r in runs)
    assert runs[0]["jobs"] == {"a": 1.5, "proof/b": 2.5}
    assert runs[0]["make_args"] == ["JOBS=7", f"OUT={seen}"]
    assert runs[0]["wall_seconds"] > 0 and runs[0]["cpu_percent"] >= 0
    jobs, cache = seen.read_text().split()
    assert jobs == "7" and "reproduce-timing-" in cache and not Path(cache).exists()


def test_a_run_made_by_hand_under_gnu_time_is_adopted(tmp_path):
    (tmp_path / "time.txt").write_text(REPORT)
    (tmp_path / "results" / "a").mkdir(parents=True)
    (tmp_path / "results" / "a" / "run.json").write_text('{"wall_seconds": 3.0}')
    out = tmp_path / "timing.json"
    args = ["--label", "after", "--out", str(out), "--adopt", str(tmp_path / "time.txt")]
    assert timing.main([*args, str(tmp_path / "results")]) == 0
    (run,) = json.loads(out.read_text())["runs"]
    assert run["wall_seconds"] == 13 * 60 + 58.2 and run["jobs"] == {"a": 3.0}


def test_bad_arguments_fail_in_one_line_before_any_run(tmp_path, capsys):
    assert timing.main(["--label", "x", "--runs", "0"]) == 2
    assert capsys.readouterr().err.strip() == "ConfigError: --runs=0 is invalid: must be >= 1"
    assert timing.main(["--label", "x", "--repo", str(tmp_path)]) == 2
    assert "--repo=" in capsys.readouterr().err
    assert timing.main(["--label", "x", "--adopt", str(tmp_path / "no.txt"), str(tmp_path)]) == 2
    assert "--adopt=" in capsys.readouterr().err


def test_a_failing_make_reproduce_records_nothing(tmp_path):
    repo, out = tmp_path / "repo", tmp_path / "timing.json"
    repo.mkdir()
    (repo / "Makefile").write_text("reproduce:\n\texit 3\n")
    with pytest.raises(SystemExit, match="exit 2"):  # make reports a failed recipe as 2
        timing.main(["--label", "after", "--runs", "1", "--repo", str(repo), "--out", str(out)])
    assert not out.exists()
