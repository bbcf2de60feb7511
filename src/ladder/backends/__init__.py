"""Model backends: one Backend protocol (base.py), built from a model spec by backend_for."""

from ladder.backends.factory import backend_for

__all__ = ["backend_for"]
