"""The one-layer testbed: the experiments on the one-layer transformer of the theory paper."""
