"""A target function folder (its own package, so that every example can be named handler.py)."""
