"""Atomic publishing on a real temporary folder: replace, never half-written, nothing left behind."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from ladder.fsutil import publish_dir, staging_dir, write_file_atomic


def _make(final: Path, version: int) -> Path:
    tmp = staging_dir(final)
    (tmp / "a.txt").write_text(str(version))
    (tmp / "sub").mkdir()
    (tmp / "sub" / "b.txt").write_text(str(version))
    return tmp


def test_publish_replaces_the_old_folder_and_leaves_nothing_beside_it(tmp_path):
    final = tmp_path / "out" / "index"
    publish_dir(_make(final, 1), final)
    (final / "only-in-old.txt").write_text("x")

    tmp = _make(final, 2)
    assert tmp.parent == final.parent and tmp.name.startswith(".")  # beside it, hidden, same filesystem
    assert (final / "a.txt").read_text() == "1"  # the half-built new one is not visible meanwhile
    publish_dir(tmp, final)

    assert sorted(p.relative_to(final).as_posix() for p in final.rglob("*")) == ["a.txt", "sub", "sub/b.txt"]
    assert (final / "sub" / "b.txt").read_text() == "2"
    assert [p.name for p in final.parent.iterdir()] == ["index"]  # no staging or old folder left


def test_a_reader_never_sees_a_mix_of_two_versions(tmp_path):
    final = tmp_path / "index"
    publish_dir(_make(final, 0), final)
    seen, mixed, stop = set(), [], threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                fd = os.open(final, os.O_RDONLY)  # both files from this one folder, even if renamed meanwhile
            except FileNotFoundError:
                continue  # between the two renames of a publish: absent, never partial
            try:
                a = open(os.open("a.txt", os.O_RDONLY, dir_fd=fd)).read()
                b = open(os.open("sub/b.txt", os.O_RDONLY, dir_fd=fd)).read()
            except FileNotFoundError:
                continue  # the old folder was removed under us after the new one was in place
            finally:
                os.close(fd)
            seen.add(a)
            if a != b:
                mixed.append((a, b))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for version in range(1, 40):
            publish_dir(_make(final, version), final)
    finally:
        stop.set()
        reader.join()
    assert not mixed
    assert len(seen) > 1  # the reader did overlap the publishing
    assert (final / "a.txt").read_text() == "39"


def test_write_file_atomic_replaces_the_whole_file_with_ordinary_permissions(tmp_path):
    path = tmp_path / "data" / "out.jsonl"
    write_file_atomic(path, "old\n")
    write_file_atomic(path, '{"é": 1}\n')
    assert path.read_text(encoding="utf-8") == '{"é": 1}\n'
    write_file_atomic(path, b"\x00bytes")
    assert path.read_bytes() == b"\x00bytes"
    plain = tmp_path / "data" / "plain.txt"
    plain.write_text("x")
    assert path.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777  # umask applies, not mkstemp's 0600
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.jsonl", "plain.txt"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path):
    path = tmp_path / "out.json"
    write_file_atomic(path, "[1]")
    with pytest.raises(TypeError):
        write_file_atomic(path, 123)  # type: ignore[arg-type]
    assert path.read_text() == "[1]"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
