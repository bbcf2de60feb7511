"""Near-duplicates across splits: normalisation, shingle similarity, and the answer condition."""

from __future__ import annotations

from ladder.task.near_duplicates import (THRESHOLD, copied_from, near_duplicate_indices, near_duplicates,
                                         normalise, similarity)
from ladder.types import Example

ORDER_A = "I was charged twice for order #40367. Urgent: I have a deadline in two hours."
ORDER_B = "I was charged twice for order #40318. Urgent: I have a deadline in two hours."
PRODUCT = "I want to return the kettle from order #40311. Not urgent at all."
SIBLING = "I want to return the backpack from order #40318. Not urgent at all."


def ex(id_: str, text: str, expected: str = "billing", source: str = "") -> Example:
    return Example(id=id_, input=text, expected=expected, source=source)


def test_normalise_collapses_numbers_case_and_punctuation():
    assert normalise("Order #40,367 costs $12.99!") == ["order", "0", "costs", "0"]
    assert normalise(ORDER_A) == normalise(ORDER_B)
    assert normalise("") == []


def test_only_a_change_of_numbers_is_a_copy_one_changed_word_is_not():
    assert similarity(ORDER_A, ORDER_B) == 1.0
    assert similarity(PRODUCT, SIBLING) < THRESHOLD  # a sibling from one template, not a copy
    assert similarity(ORDER_A, PRODUCT) < 0.1
    assert similarity("ok", "OK.") == 1.0 and similarity("", "") == 1.0


def test_index_finds_what_pairwise_comparison_finds():
    corpus = [ORDER_B, PRODUCT, SIBLING, "Where is my parcel?", ""]
    queries = [ORDER_A, SIBLING + " ", "where is my parcel", "unrelated words entirely here", ""]
    for threshold in (0.3, THRESHOLD, 1.0):
        found = near_duplicate_indices(queries, corpus, threshold)
        for q, hits in zip(queries, found):
            expect = {i: similarity(q, c) for i, c in enumerate(corpus) if similarity(q, c) >= threshold}
            assert hits.keys() == expect.keys()
            assert all(abs(hits[i] - expect[i]) < 1e-12 for i in hits)


def test_a_near_duplicate_needs_the_same_answer_or_the_same_input():
    train = [ex("t0", ORDER_B, "billing/high", "train.jsonl:1"), ex("t1", "Inbound 267, outbound 385.", "-118"),
             ex("t2", "Inbound 139, outbound 487.", "+1")]
    evals = [ex("e0", ORDER_A, "billing/high", "eval.jsonl:1"),  # number changed, same answer: a copy
             ex("e1", "Inbound 139, outbound 487.", "-348"),  # numbers are the question: not a copy of t1...
             ex("e2", "Unrelated message", "x")]
    assert copied_from(evals, train) == [{0: 1.0}, {2: 1.0}, {}]  # ...but the very same input (t2) is
    (pair, same_input) = near_duplicates(train, evals)
    assert (pair.train.id, pair.eval.id, pair.similarity) == ("t0", "e0", 1.0)
    assert pair.line().startswith("eval.jsonl:1 ~ train.jsonl:1: near-duplicate")
    assert (same_input.train.id, same_input.eval.id) == ("t2", "e1")
