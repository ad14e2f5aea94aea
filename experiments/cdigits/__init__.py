"""The coloured-digits testbed (a small ViT on coloured handwritten digits, theory.md §6.1).

``common``: the data, Ψ0, fine-tuned models and α̂ estimators every experiment here shares;
``pair``: Figure 1 / Table 1; ``ood``: Table 2 / Figure 2; ``compress``: Corollaries 1–2;
``figures``: passes the papers' values and Theorem 3's predictions to ``plots.cdigits``.
"""
