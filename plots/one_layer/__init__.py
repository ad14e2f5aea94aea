"""Figures of the one-layer transformer testbed."""
