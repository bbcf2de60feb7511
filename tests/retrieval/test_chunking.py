from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ladder.retrieval.chunking import ChunkingSpec, chunk_document, word_spans
from ladder.retrieval.corpus import Document


def _doc(text: str, title: str = "Doc") -> Document:
    return Document("doc.md", text, title)


def test_token_windows_sizes_overlap_and_offsets():
    words = [f"w{i}" for i in range(25)]
    text = "  " + " ".join(words) + "\n"
    chunks = chunk_document(_doc(text), ChunkingSpec("tokens", size=10, overlap=3, metadata_prefix=False))
    # windows start at words 0, 7, 14, 21 (step 7); the last one ends at word 25
    assert [c.text.split() for c in chunks] == [words[0:10], words[7:17], words[14:24], words[21:25]]
    for c in chunks:
        assert text[c.start:c.end] == c.text
        assert c.id == f"doc.md@{c.start}-{c.end}"
        assert c.prefix == ""


def test_a_document_shorter_than_one_window_is_one_chunk():
    chunks = chunk_document(_doc("just four words here"), ChunkingSpec("tokens", 10, 2, False))
    assert [c.text for c in chunks] == ["just four words here"]


def test_exact_multiple_does_not_make_an_empty_tail():
    text = " ".join(str(i) for i in range(20))
    chunks = chunk_document(_doc(text), ChunkingSpec("tokens", 10, 0, False))
    assert [len(c.text.split()) for c in chunks] == [10, 10]


def test_bad_spec_is_refused():
    with pytest.raises(ValueError, match="overlap must be >= 0 and < the chunk size 8"):
        ChunkingSpec("tokens", 8, 8)
    with pytest.raises(ValueError, match="chunk size must be > 0"):
        ChunkingSpec("tokens", 0, 0)


def test_paragraph_chunks_pack_paragraphs_and_break_at_headings():
    text = ("# Handbook\n\nOne two three.\n\nFour five six.\n\n## Travel\n\nSeven eight.\n\n"
            + " ".join(f"long{i}" for i in range(12)) + "\n")
    chunks = chunk_document(_doc(text, "Handbook"), ChunkingSpec("paragraphs", size=8, overlap=2))
    bodies = [c.text for c in chunks]
    assert bodies[0] == "# Handbook\n\nOne two three.\n\nFour five six."  # 8 words packed
    assert bodies[1] == "## Travel\n\nSeven eight."  # a heading starts a new chunk
    # the 12-word paragraph is longer than a chunk: cut in windows of 8 with overlap 2
    assert [b.split() for b in bodies[2:]] == [[f"long{i}" for i in range(8)], [f"long{i}" for i in range(6, 12)]]
    for c in chunks:
        assert text[c.start:c.end] == c.text
    assert chunks[0].prefix == "[Handbook]\n"  # the title heading is not repeated as a section
    assert chunks[1].prefix == "[Handbook | Travel]\n"
    assert chunks[2].prefix == "[Handbook | Travel]\n"
    assert chunks[1].indexed_text.startswith("[Handbook | Travel]\n## Travel")


def test_hash_is_of_the_text():
    import hashlib

    (c,) = chunk_document(_doc("some text"), ChunkingSpec("tokens", 5, 0))
    assert c.hash == hashlib.sha256(b"some text").hexdigest()


@given(
    words=st.lists(st.text(alphabet="abc", min_size=1, max_size=4), min_size=1, max_size=60),
    size=st.integers(1, 12),
    overlap_frac=st.floats(0, 0.99),
    seps=st.lists(st.sampled_from([" ", "\n", "\n\n", "  \t"]), min_size=60, max_size=60),
)
def test_windows_cover_every_word_and_map_back(words, size, overlap_frac, seps):
    overlap = min(size - 1, int(size * overlap_frac))
    text = "".join(w + s for w, s in zip(words, seps))
    chunks = chunk_document(_doc(text), ChunkingSpec("tokens", size, overlap, False))
    spans = word_spans(text)
    covered = set()
    for c in chunks:
        assert text[c.start:c.end] == c.text
        inside = [i for i, (s, e) in enumerate(spans) if s >= c.start and e <= c.end]
        assert 1 <= len(inside) <= size
        covered |= set(inside)
    assert covered == set(range(len(spans)))
    for a, b in zip(chunks, chunks[1:]):  # neighbours share exactly `overlap` words
        shared = [i for i, (s, e) in enumerate(spans) if s >= b.start and e <= a.end]
        assert len(shared) == overlap
