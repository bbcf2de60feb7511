"""Cut documents into chunks: fixed-size token windows with overlap, or paragraphs under headings.

A "token" is a whitespace-separated word unless a tokenizer is passed in (a function from text to
(start, end) character spans, e.g. one built on a Hugging Face tokenizer's offset mapping). Every
chunk keeps its source path, the character offsets of its text in the source document
(`doc.text[start:end] == chunk.text`) and a content hash. The optional metadata prefix
("[title | section]") is prepended to what is indexed and shown, never to `text`.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Literal, Sequence

from ladder.retrieval.corpus import Document

Spans = list[tuple[int, int]]
Tokenizer = Callable[[str], Spans]

_WORD = re.compile(r"\S+")
_BLANK = re.compile(r"\n[ \t]*\n")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def word_spans(text: str) -> Spans:
    """(start, end) of each whitespace-separated word."""
    return [m.span() for m in _WORD.finditer(text)]


@dataclass(frozen=True)
class ChunkingSpec:
    mode: Literal["tokens", "paragraphs"] = "tokens"
    size: int = 256  # tokens per chunk (paragraph mode: at most, unless one paragraph is longer)
    overlap: int = 32  # tokens shared by neighbouring windows
    metadata_prefix: bool = True

    def __post_init__(self) -> None:
        if self.size <= 0:
            raise ValueError(f"chunk size must be > 0 (got {self.size})")
        if not 0 <= self.overlap < self.size:
            raise ValueError(f"chunk overlap must be >= 0 and < the chunk size {self.size} (got {self.overlap})")

    def key(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Chunk:
    id: str  # "<source>@<start>-<end>"
    source: str
    start: int
    end: int
    text: str
    prefix: str = ""
    hash: str = ""

    @property
    def indexed_text(self) -> str:
        """What retrievers index and what the prompt shows: metadata prefix + text."""
        return self.prefix + self.text


def _windows(n: int, size: int, overlap: int) -> Iterable[tuple[int, int]]:
    """Token index ranges [i, j) of windows of `size` stepping by size - overlap, covering 0..n."""
    step = size - overlap
    start = 0
    while True:
        end = min(start + size, n)
        yield start, end
        if end >= n:
            return
        start += step


def _headings(text: str) -> tuple[list[int], list[str]]:
    """Start offsets and titles of markdown headings, in order."""
    found = [(m.start(), m.group(2).strip()) for m in _HEADING.finditer(text)]
    return [s for s, _ in found], [t for _, t in found]


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of blank-line separated paragraphs, whitespace trimmed."""
    out, pos = [], 0
    for m in [*_BLANK.finditer(text), None]:
        end = m.start() if m else len(text)
        piece = text[pos:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            out.append((pos + lead, pos + len(piece.rstrip())))
        pos = m.end() if m else len(text)
    return out


def _token_ranges(text: str, spec: ChunkingSpec, tokenize: Tokenizer) -> list[tuple[int, int]]:
    spans = tokenize(text)
    return [(spans[i][0], spans[j - 1][1]) for i, j in _windows(len(spans), spec.size, spec.overlap) if j > i]


def _paragraph_ranges(text: str, spec: ChunkingSpec, tokenize: Tokenizer) -> list[tuple[int, int]]:
    """Paragraphs packed up to `size` tokens; a heading starts a new chunk; a longer paragraph
    is cut into overlapping windows on its own."""
    heading_starts = set(_headings(text)[0])
    out: list[tuple[int, int]] = []
    current: list[tuple[int, int]] = []
    used = 0

    def flush() -> None:
        nonlocal current, used
        if current:
            out.append((current[0][0], current[-1][1]))
        current, used = [], 0

    for start, end in _paragraphs(text):
        n = len(tokenize(text[start:end]))
        if start in heading_starts or used + n > spec.size:
            flush()
        if n > spec.size:
            out += [(start + a, start + b) for a, b in _token_ranges(text[start:end], spec, tokenize)]
            continue
        current.append((start, end))
        used += n
    flush()
    return out


def chunk_document(doc: Document, spec: ChunkingSpec, tokenize: Tokenizer = word_spans) -> list[Chunk]:
    ranges = (_token_ranges if spec.mode == "tokens" else _paragraph_ranges)(doc.text, spec, tokenize)
    starts, titles = _headings(doc.text)
    chunks = []
    for start, end in ranges:
        text = doc.text[start:end]
        prefix = ""
        if spec.metadata_prefix:
            i = bisect.bisect_right(starts, start) - 1
            section = titles[i] if i >= 0 and titles[i] != doc.title else ""
            prefix = f"[{doc.title} | {section}]\n" if section else f"[{doc.title}]\n"
        chunks.append(Chunk(
            id=f"{doc.source}@{start}-{end}", source=doc.source, start=start, end=end, text=text,
            prefix=prefix, hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        ))
    return chunks


def chunk_corpus(docs: Sequence[Document], spec: ChunkingSpec, tokenize: Tokenizer = word_spans) -> list[Chunk]:
    return [c for d in docs for c in chunk_document(d, spec, tokenize)]
