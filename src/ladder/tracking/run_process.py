"""Which process records a run, and what that says about a run still marked `running`.

A climb stopped by Ctrl+C or SIGTERM records its run as interrupted itself. One killed outright
(SIGKILL, a crash, a power cut) cannot, so each run keeps the host, pid and start time of the
process that recorded it, and a run still `running` whose process is gone reads as interrupted.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Mapping


PROCESS_COLUMNS = ("host", "pid", "process_start")  # the runs table's columns naming the recording process


def this_process() -> tuple[str, int, str | None]:
    """(host, pid, process start) of the current process, as the runs table records them."""
    return socket.gethostname(), os.getpid(), process_start(os.getpid())


def process_start(pid: int) -> str | None:
    """When process `pid` started (clock ticks after boot, field 22 of /proc/PID/stat): with the
    pid, it names one process rather than whichever later gets the same number. None without
    /proc or without such a process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # after the command's ")", fields 3 onwards


def effective_status(run: Mapping[str, Any]) -> str:
    """A run's status as recorded, except that a run still `running` whose climb's process no
    longer exists on this host was killed before it could record that it stopped: interrupted.
    A run recorded on another host, or before processes were recorded, stays as recorded."""
    if run["status"] != "running" or run.get("pid") is None or run.get("host") != socket.gethostname():
        return run["status"]
    try:
        os.kill(run["pid"], 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return "interrupted"
    except PermissionError:  # it exists, as another user's process
        pass
    started = process_start(run["pid"])
    if run.get("process_start") is not None and started is not None and started != run["process_start"]:
        return "interrupted"  # the number now names another process
    return run["status"]
