"""The `ladder` command: thin wrappers over library functions.

Exit codes: 0 success, 2 bad input (task.yaml, data files, options) or a failed run.
`ladder climb` and `ladder recommend` (usable in CI): 0 target met, 1 target not met, 2 error.
"""


from ladder.cli import init, runs, data, remote, review, export  # noqa: F401,I001  (each registers its commands, in help order)
from ladder.cli.app import app

__all__ = ["app"]
