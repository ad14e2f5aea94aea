"""The one-layer testbed: the experiments on the paper's one-layer Transformer and synthetic tasks."""
