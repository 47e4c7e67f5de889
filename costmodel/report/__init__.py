"""Rendering. The only layer that imports rich (and matplotlib, for plots); computing
never prints."""
