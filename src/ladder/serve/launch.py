"""Start `ladder serve` in a child process and wait until it answers; always stop it after.

Used by the tests and benchmarks (and usable by anyone who wants a throwaway local endpoint):

    with running_server(data_dir=tmp) as base_url:  # e.g. http://127.0.0.1:40123/v1
        ...
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(*args: str, env: dict[str, str] | None = None, log: Path | None = None,
                   startup_timeout_s: float = 120.0, headers: dict[str, str] | None = None) -> Iterator[str]:
    """Yield the base URL of a fresh `ladder serve` on a free 127.0.0.1 port.

    `args` are extra `ladder serve` flags; `headers` are sent with the readiness probe (e.g. the
    Authorization header when --api-key-env is given). The server's output goes to `log`."""
    port = free_port()
    cmd = [sys.executable, "-m", "ladder.cli", "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    sink = open(log, "wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, env=full_env, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + startup_timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"ladder serve exited with code {proc.returncode} before answering"
                                   + (f"; see {log}" if log else ""))
            try:
                req = urllib.request.Request(f"{base}/models", headers=headers or {})
                with urllib.request.urlopen(req, timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"ladder serve did not answer {base}/models within {startup_timeout_s:.0f}s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            sink.close()  # type: ignore[union-attr]
