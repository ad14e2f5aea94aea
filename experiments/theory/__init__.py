"""The theory: every prediction of both papers as a pure function (numpy only, no torch).

Modules, one per statement family (theory.md, gradients.md):

- ``theorem1``: task addition and negation on a task pair — the λ thresholds of Theorems 1–2 in
  terms of α (and β), the T1 error bound ε + |λ|β (β̂ is fitted in ``experiments.analysis``);
- ``theorem3``: the out-of-domain region of Theorem 3 and its fits;
- ``corollaries``: what Corollaries 1–2 expect of low-rank and pruned task vectors;
- ``gradients``: the gradient paper's exact one-epoch identity, the η²k(k−1)/2 multi-epoch term and
  its smoothness bound.

Experiments and plots take the predictions from here; ``experiments.claims`` compares them with the
measurements.
"""
