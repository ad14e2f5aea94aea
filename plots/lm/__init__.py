"""Figures of the language-model testbed."""
