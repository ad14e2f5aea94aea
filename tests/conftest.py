import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("WANDB_MODE", "disabled")
# Experiments composed in tests cache fine-tuned models in a throwaway directory, never in the checkout.
os.environ["TA_CACHE_DIR"] = tempfile.mkdtemp(prefix="ta-test-cache-")
atexit.register(shutil.rmtree, os.environ["TA_CACHE_DIR"], ignore_errors=True)

from models import ModelConfig, TrainConfig, pretrained_model  # noqa: E402
from synthetic import TokenConfig, make_tasks, pair_geometry  # noqa: E402


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def pair_tasks():
    return make_tasks(pair_geometry(32, 0.0), TokenConfig())


@pytest.fixture(scope="session")
def psi0():
    return pretrained_model(ModelConfig())


@pytest.fixture(scope="session")
def finetuned(psi0, pair_tasks):
    """Ψ*_T1 and Ψ*_T2 fine-tuned on the default configuration (a fraction of a second each)."""
    from models import finetune

    return {
        n: finetune(psi0, t, TrainConfig(seed=i)) for i, (n, t) in enumerate(pair_tasks.items())
    }
