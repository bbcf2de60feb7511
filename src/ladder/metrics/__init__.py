"""Tier-1 checks. Importing the package registers every built-in kind (checks.py, python_check.py)."""

from ladder.metrics import checks, python_check  # noqa: F401 - registration happens on import
