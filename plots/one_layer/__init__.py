"""Figures of the one-layer testbed."""
