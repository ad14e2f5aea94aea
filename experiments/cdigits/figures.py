"""The coloured-digits figures, with what the plots draw besides the results passed as arguments:
the paper's Figure 1 values (``experiments.paper``) and Theorem 3's margins and wedge at the threshold
and box fitted on the held-out seeds (``experiments.theory.theorem3``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from experiments.paper import CDIGITS_FIGURE1, CDIGITS_FIGURE1_LAMBDAS
from experiments.theory import theorem3
from plots.cdigits.ood import ood_figure
from plots.cdigits.pair import pair_figure


def pair_figures(results: dict[str, Any]) -> dict[str, Any]:
    return {"cdigits_pair": pair_figure(results, CDIGITS_FIGURE1, CDIGITS_FIGURE1_LAMBDAS)}


def ood_figures(results: dict[str, Any]) -> dict[str, Any]:
    l1, l2 = np.asarray(results["lambda1"]), np.asarray(results["lambda2"])
    reg = results["region"]  # fitted on the held-out seeds, with their γ̂
    ov = theorem3.overlay(l1, l2, reg["gamma_hat"], reg["shape"])
    return {"cdigits_ood": ood_figure(results, ov["value"], ov["attention"], ov["shape"])}
