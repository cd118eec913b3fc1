"""Loaders: guideline text in, typed records out (no I/O beyond reading the file)."""
