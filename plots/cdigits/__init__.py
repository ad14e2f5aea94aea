"""Coloured-digits figures: ``pair`` (Figure 1 analogue), ``ood`` (Figure 2 analogue), ``compress``."""
