"""A corpus: a folder of .txt/.md documents and .jsonl records ({"text": ..., metadata...}).

Reading never leaves the folder: every path is resolved to its real location and refused,
with a clear error, when a symlink or a `..` points outside it. Symlinks that stay inside are
skipped (their target is read at its own path), so no document is read twice.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ladder.types import content_hash

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
RECORD_SUFFIX = ".jsonl"


class CorpusError(ValueError):
    """A corpus that cannot be read; the message names the file (and line) at fault."""


@dataclass(frozen=True)
class Document:
    source: str  # path relative to the corpus folder; "file.jsonl#<id>" for a record
    text: str
    title: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Corpus:
    root: Path
    documents: tuple[Document, ...]

    def fingerprint(self) -> str:
        """Hash of every document's source, text and metadata: the index cache key's first part."""
        return content_hash([(d.source, d.title, d.text, dict(d.metadata)) for d in self.documents])


def _inside(root: Path, path: Path) -> bool:
    return path == root or root in path.parents


def confine(root: Path, relative: str | Path) -> Path:
    """The real path of `relative` inside `root`; CorpusError if it resolves outside."""
    root = Path(root).resolve()
    rel = Path(relative)
    if rel.is_absolute():
        raise CorpusError(f"{relative}: absolute path; give a path relative to the corpus folder {root}")
    target = (root / rel).resolve()
    if not _inside(root, target):
        raise CorpusError(f"{relative}: resolves to {target}, outside the corpus folder {root}")
    return target


def _title(path: Path, text: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
        if line.strip():
            break
    return path.stem.replace("_", " ").replace("-", " ")


def _decode(path: Path, rel: str) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CorpusError(f"{rel}: not valid UTF-8 (byte {e.start})") from None
    except OSError as e:
        raise CorpusError(f"{rel}: cannot read: {e.strerror or e}") from None


def _records(path: Path, rel: str) -> list[Document]:
    docs: list[Document] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(_decode(path, rel).split("\n"), start=1):
        where = f"{rel}:{lineno}"
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"{where}: invalid JSON: {e.msg} (column {e.colno})")
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            problems.append(f"{where}: expected an object with a string 'text'")
            continue
        rid = str(obj.get("id", lineno))
        if rid in seen:
            problems.append(f"{where}: duplicate id {rid!r} (first on line {seen[rid]})")
            continue
        seen[rid] = lineno
        meta = {k: v for k, v in obj.items() if k != "text"}
        title = str(meta.get("title") or f"{path.stem} {rid}")
        docs.append(Document(f"{rel}#{rid}", obj["text"], title, meta))
    if problems:
        raise CorpusError("\n".join(problems))
    return docs


def read_corpus(folder: str | Path) -> Corpus:
    """Every document under `folder`, in sorted path order."""
    given = Path(folder)
    if not given.is_dir():
        raise CorpusError(f"{given}: corpus folder not found")
    root = given.resolve()
    docs: list[Document] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        here = Path(dirpath)
        for name in sorted(dirnames) + sorted(filenames):
            path = here / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                target = path.resolve()
                if not _inside(root, target):
                    raise CorpusError(f"{rel}: symlink points outside the corpus folder {root} (-> {target})")
                continue
            if name in filenames and not name.startswith("."):
                if path.suffix.lower() in TEXT_SUFFIXES:
                    text = _decode(path, rel)
                    docs.append(Document(rel, text, _title(path, text)))
                elif path.suffix.lower() == RECORD_SUFFIX:
                    docs += _records(path, rel)
    if not docs:
        raise CorpusError(f"{given}: no .txt, .md or .jsonl documents in the corpus folder")
    return Corpus(root=root, documents=tuple(docs))
