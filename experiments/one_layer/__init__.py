"""The one-layer transformer testbed: its experiments."""
