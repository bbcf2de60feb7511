from __future__ import annotations

import os
from pathlib import Path

import pytest

from ladder.retrieval.corpus import CorpusError, confine, read_corpus


def test_reads_text_markdown_and_jsonl_records(corpus_dir: Path):
    corpus = read_corpus(corpus_dir)
    by_source = {d.source: d for d in corpus.documents}
    assert sorted(by_source) == ["leave.md", "office/canteen.md", "office/parking.txt",
                                 "travel.jsonl#budget", "travel.jsonl#trains"]
    assert by_source["leave.md"].title == "Leave policy"
    assert by_source["office/parking.txt"].title == "parking"
    assert by_source["travel.jsonl#budget"].title == "Travel budget"
    assert by_source["travel.jsonl#budget"].metadata == {"id": "budget", "title": "Travel budget"}


def test_fingerprint_changes_with_content(corpus_dir: Path):
    before = read_corpus(corpus_dir).fingerprint()
    assert read_corpus(corpus_dir).fingerprint() == before
    (corpus_dir / "leave.md").write_text("# Leave policy\n\n28 days.\n")
    assert read_corpus(corpus_dir).fingerprint() != before


def test_symlink_pointing_outside_is_refused(corpus_dir: Path, tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not part of the corpus")
    os.symlink(secret, corpus_dir / "office" / "sneaky.txt")
    with pytest.raises(CorpusError, match=r"office/sneaky.txt: symlink points outside the corpus folder"):
        read_corpus(corpus_dir)


def test_symlinked_folder_pointing_outside_is_refused(corpus_dir: Path, tmp_path: Path):
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", corpus_dir / "linked")
    with pytest.raises(CorpusError, match=r"linked: symlink points outside"):
        read_corpus(corpus_dir)


def test_symlink_inside_is_skipped_not_read_twice(corpus_dir: Path):
    os.symlink(corpus_dir / "leave.md", corpus_dir / "alias.md")
    sources = [d.source for d in read_corpus(corpus_dir).documents]
    assert "alias.md" not in sources and sources.count("leave.md") == 1


def test_dotdot_and_absolute_paths_are_confined(corpus_dir: Path):
    assert confine(corpus_dir, "office/../leave.md") == (corpus_dir / "leave.md").resolve()
    with pytest.raises(CorpusError, match=r"\.\./outside.md: resolves to .*, outside the corpus folder"):
        confine(corpus_dir, "../outside.md")
    with pytest.raises(CorpusError, match="absolute path"):
        confine(corpus_dir, "/etc/passwd")


def test_bad_jsonl_record_names_file_and_line(corpus_dir: Path):
    (corpus_dir / "bad.jsonl").write_text('{"text": "fine"}\n{"title": "no text"}\nnot json\n')
    with pytest.raises(CorpusError) as e:
        read_corpus(corpus_dir)
    assert "bad.jsonl:2: expected an object with a string 'text'" in str(e.value)
    assert "bad.jsonl:3: invalid JSON" in str(e.value)


def test_missing_or_empty_folder(tmp_path: Path):
    with pytest.raises(CorpusError, match="corpus folder not found"):
        read_corpus(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "image.png").write_bytes(b"\x89PNG")
    with pytest.raises(CorpusError, match="no .txt, .md or .jsonl documents"):
        read_corpus(tmp_path / "empty")


def test_invalid_utf8_is_named(corpus_dir: Path):
    (corpus_dir / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(CorpusError, match=r"latin1.txt: not valid UTF-8 \(byte 3\)"):
        read_corpus(corpus_dir)
