"""The ``gradients_vit`` figures, with the criterion band the exactness plot draws (the claims module's
declared tolerance of the second-order constant); plots import nothing from ``experiments``."""

from __future__ import annotations

from typing import Any

from experiments.claims.gradients_vit import RATIO_TOL


def figures(results: dict[str, Any]) -> dict[str, Any]:
    from plots.cdigits.gradients_vit import figures as draw

    return draw(results, ratio_tol=RATIO_TOL)
