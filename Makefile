# Two commands on a fresh machine: `make test` and `make reproduce` (each creates .venv first).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The extras of pyproject.toml to install besides the base: dev (pytest, ruff) and slurm (the
# submitit launcher) for make test, lm (transformers...) for make test and make reproduce; add ray for
# hydra/launcher=ray_cluster (make venv EXTRAS=dev,lm,slurm,ray; EXTRAS= installs the base alone)
EXTRAS ?= dev,lm,slurm
comma  := ,
STAMP  := $(VENV)/.installed$(subst $(comma),-,$(if $(EXTRAS),-$(EXTRAS)))
RESULTS := results
PRESETS := foundation task_pair_irrelevant task_pair_aligned task_pair_contradictory \
           task_pair_irrelevant_noisy task_pair_aligned_noisy task_pair_contradictory_noisy phase_diagram \
           gradients ood ood_span low_rank pruning cdigits_pair cdigits_ood cdigits_compress gradients_vit \
           lm_unlearning regime_search scaling
# The theorem experiments again in the mechanism regime (conf/regime/proof.yaml), into results/proof/
PROOF_PRESETS := foundation task_pair_irrelevant task_pair_aligned task_pair_contradictory phase_diagram ood \
                 ood_span low_rank pruning
RECOMPUTE ?= false
# make reproduce sends the presets through a Hydra launcher: two multiruns (the default regime, the
# proof regime) at once, each JOBS jobs at a time with THREADS threads per job. The default `cores`
# (joblib) keeps its worker processes, so torch, wandb and the experiment code are imported once per
# worker, not once per job. On 2 cores single-threaded jobs beat two-threaded ones (a small model's
# step is faster on one thread), and the numbers are the same (one machine, any thread count). The
# slowest presets go first; jobs that need the same fine-tuned model share it through the cache's
# per-model lock. LAUNCHER=slurm|ray_cluster sends the same jobs to a cluster (LAUNCH_ARGS; there the
# launcher's cpus_per_task/num_cpus, not THREADS, sets the threads); local runs submitit here.
LAUNCHER ?= cores
LAUNCH_ARGS ?=
JOBS ?= 2
THREADS ?= 1
LONG := cdigits_ood gradients ood_span lm_unlearning cdigits_compress gradients_vit ood phase_diagram \
        cdigits_pair
PROOF_LONG := ood_span ood phase_diagram

.DEFAULT_GOAL := help
.PHONY: help venv test test-fast lint format bench bench-gpu reproduce time-reproduce compare docs docs-check docs-figures report clean sweep-cores sweep-local

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python >= 3.11 is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m experiments.extras "$(EXTRAS)" > $(VENV)/requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r $(VENV)/requirements.txt
	touch $(STAMP)

venv: $(STAMP) ## Create .venv with the pinned base and the EXTRAS of pyproject.toml (pip; default dev,lm,slurm)

lint: $(STAMP) ## ruff check
	$(BIN)/ruff check .

format: $(STAMP) ## ruff format + import sorting
	$(BIN)/ruff check --fix --select I .
	$(BIN)/ruff format .

test: $(STAMP) ## Lint, then every test (unit and slow end-to-end); what CI runs
	$(BIN)/ruff check .
	WANDB_MODE=disabled $(BIN)/python -m pytest

test-fast: $(STAMP) ## Unit tests only (skips tests marked slow)
	WANDB_MODE=disabled $(BIN)/python -m pytest -m "not slow"

bench: $(STAMP) ## Benchmark training and grid evaluation, large shapes, the ViT and LM, 64 seeds; writes results/bench.json
	$(BIN)/python -m experiments.bench --out $(RESULTS)/bench.json

bench-gpu: $(STAMP) ## The same benchmark on CUDA (one command for a GPU machine); writes results/bench_gpu.json
	$(BIN)/python -m experiments.bench --device cuda --out $(RESULTS)/bench_gpu.json

reproduce: $(STAMP) ## Run every experiment preset into results/ (two Hydra multiruns, JOBS jobs at a time, THREADS threads each; LAUNCHER=slurm|ray_cluster|local for a cluster), draw the cross-run figures, build results/REPORT.md (RECOMPUTE=true reruns finished jobs)
	@start=$$(date +%s); \
	$(call sweep,$(call slowest_first,$(PRESETS),$(LONG)),$(RESULTS),) & default=$$!; \
	$(call sweep,$(call slowest_first,$(PROOF_PRESETS),$(PROOF_LONG)),$(RESULTS)/proof,regime=proof) & proof=$$!; \
	wait $$default; d=$$?; wait $$proof; p=$$?; \
	if [ $$d -ne 0 ] || [ $$p -ne 0 ]; then echo "make reproduce: a job failed (see the lines above)" >&2; exit 1; fi; \
	$(record_wall)
	$(BIN)/python -m experiments.figures --results $(RESULTS)
	$(BIN)/python -m experiments.report --results $(RESULTS)

time-reproduce: $(STAMP) ## Time RUNS cold-cache make reproduce runs (wall, CPU, per job) into results/timing.json, labelled LABEL (REPO=a worktree of another commit; REPRO_ARGS="JOBS=1 THREADS=2"); make docs shows the medians
	$(BIN)/python -m experiments.timing --label $(or $(LABEL),after) --runs $(or $(RUNS),3) \
	  --repo $(or $(REPO),.) --out $(RESULTS)/timing.json -- $(REPRO_ARGS)

# Presets $(1) with those of $(2) first, in $(2)'s order.
slowest_first = $(filter $(1),$(2)) $(filter-out $(2),$(1))
# One Hydra multirun over presets $(1) into $(2)/<preset>/ through hydra/launcher=$(LAUNCHER), with the
# extra overrides $(3) and LAUNCH_ARGS (e.g. LAUNCH_ARGS="hydra.launcher.partition=cpu" for SLURM).
sweep = $(if $(filter cores local,$(LAUNCHER)),OMP_NUM_THREADS=$(THREADS)) \
	$(BIN)/python -m experiments.run -m hydra/launcher=$(LAUNCHER) \
	$(if $(filter cores,$(LAUNCHER)),hydra.launcher.n_jobs=$(JOBS)) \
	experiment=$(subst $(space),$(comma),$(strip $(1))) $(3) recompute=$(RECOMPUTE) \
	hydra.sweep.dir=$(2) 'hydra.sweep.subdir=$${hydra:runtime.choices.experiment}' $(LAUNCH_ARGS)
# results/reproduce.json: the whole run's wall time (read by the README's results block).
record_wall = printf '{"wall_seconds": %s, "jobs": %s, "threads": %s, "launcher": "%s"}\n' \
	$$(( $$(date +%s) - start )) $(JOBS) $(THREADS) "$(LAUNCHER)" \
	> $(RESULTS)/.reproduce.json.tmp && mv $(RESULTS)/.reproduce.json.tmp $(RESULTS)/reproduce.json
empty :=
space := $(empty) $(empty)

compare: $(STAMP) ## Compare two result trees: make compare OLD=dir NEW=dir (exit 1 on a difference beyond float rounding)
	@test -n "$(OLD)" -a -n "$(NEW)" || { echo "usage: make compare OLD=dir NEW=dir" >&2; exit 2; }
	$(BIN)/python -m experiments.compare $(OLD) $(NEW)

docs: docs-figures $(STAMP) ## Refresh the README's snapshots from results/: the figures in docs/figures/ and the generated results block
	$(BIN)/python -m experiments.report --results $(RESULTS) --readme README.md

docs-check: $(STAMP) ## Exit 1 if the README's results block differs from what results/ gives (after make reproduce)
	$(BIN)/python -m experiments.report --results $(RESULTS) --readme README.md --check

docs-figures: ## Copy the main figures of results/ into docs/figures/ (the README's snapshots)
	mkdir -p docs/figures
	cp $(RESULTS)/figure1.png $(RESULTS)/figure1_noisy.png $(RESULTS)/phase_diagram/phase_diagram.png \
	   $(RESULTS)/foundation/foundation.png $(RESULTS)/gradients/gradients.png \
	   $(RESULTS)/low_rank/low_rank.png $(RESULTS)/pruning/pruning.png docs/figures/
	cp $(RESULTS)/ood/ood.png docs/figures/ood.png
	cp $(RESULTS)/ood_span/ood.png docs/figures/ood_span.png
	cp $(RESULTS)/ood_span/ood_gamma_map.png docs/figures/ood_gamma_map.png
	cp $(RESULTS)/cdigits_pair/cdigits_pair.png $(RESULTS)/cdigits_ood/cdigits_ood.png \
	   $(RESULTS)/cdigits_compress/cdigits_compress.png $(RESULTS)/lm_unlearning/lm_unlearning.png docs/figures/
	cp $(RESULTS)/gradients_vit/gradients_vit_dominance.png $(RESULTS)/gradients_vit/gradients_vit_merging.png \
	   docs/figures/

TINY_SWEEP := -m experiment=task_pair_irrelevant data.alpha=0.0,0.5 experiment.n_seeds=2 data.n_test=256 \
              train.n_val=128 eval.lam.step=0.5 progress=false

sweep-cores: $(STAMP) ## A tiny 2-job sweep on all cores (joblib launcher) into multirun/task_pair
	$(BIN)/python -m experiments.run $(TINY_SWEEP) hydra/launcher=cores

sweep-local: $(STAMP) ## The same sweep through submitit on this machine (the SLURM code path)
	$(BIN)/python -m experiments.run $(TINY_SWEEP) hydra/launcher=local

report: $(STAMP) ## Redraw the cross-run figures and rebuild results/REPORT.md from the existing metrics.json files
	$(BIN)/python -m experiments.figures --results $(RESULTS)
	$(BIN)/python -m experiments.report --results $(RESULTS)

clean: ## Remove outputs (keeps .venv)
	rm -rf outputs multirun .pytest_cache .ruff_cache
