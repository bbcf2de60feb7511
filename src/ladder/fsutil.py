"""Atomic publishing of files and folders: a reader sees the old version or the new one, never half.

Adapters, training checkpoints, retrieval indexes, the de-quantised model cache and written
data files all appear this way. Content is written under a temporary name beside its final
place (the same filesystem, so the rename is atomic), every file is fsynced, the rename puts
it in place, and the parent folder is fsynced so the rename itself survives a power cut.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path


def fsync_dir(folder: Path) -> None:
    """Make the entries of `folder` (names created, renamed or removed) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for dirpath, _dirs, files in os.walk(folder, topdown=False):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                os.fsync(f.fileno())
        fsync_dir(Path(dirpath))


def staging_dir(final: Path) -> Path:
    """A new empty folder beside `final` to write into before `publish_dir(staging, final)`."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.tmp-"))


def publish_dir(tmp: Path, final: Path) -> None:
    """Put the finished folder `tmp` in place as `final`, replacing any folder already there.

    `tmp` must be on the same filesystem as `final` (see `staging_dir`). An old `final` is
    renamed aside first and removed only once the new one is in place, so a crash never
    leaves `final` half-written, and never loses the old one before the new one exists."""
    tmp, final = Path(tmp), Path(final)
    _fsync_tree(tmp)
    aside = None
    if final.exists():
        aside = final.with_name(f".{final.name}.old-{secrets.token_hex(4)}")
        os.replace(final, aside)
    os.replace(tmp, final)
    fsync_dir(final.parent)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def write_file_atomic(path: Path, data: str | bytes) -> None:
    """Write `data` (text as UTF-8) to `path` so that a reader sees the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    # os.open with 0o666 gives the file the permissions a plain open() would (umask applied).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def cache_root() -> Path:
    """Where ladder keeps what it can rebuild: converted models, per-machine measurements.
    $LADDER_CACHE, else $XDG_CACHE_HOME/ladder, else ~/.cache/ladder (read, never written)."""
    base = os.environ.get("LADDER_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ladder"
    )
    return Path(base)
