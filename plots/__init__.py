"""Figures drawn from metrics.json (never from retraining): measurements against the theory."""
