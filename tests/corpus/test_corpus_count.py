"""The corpus holds at least 120 distinct kinds of bad input, spread over every category the issue names."""

from __future__ import annotations

import test_corpus_api
import test_corpus_design
import test_corpus_eis
import test_corpus_init
import test_corpus_outputs
import test_corpus_study
import test_corpus_tables

#: category → the case ids of its kinds
CATEGORIES: dict[str, list[str]] = {
    "study files": [c.id for c in test_corpus_study.CASES],
    "design requests": [c.id for c in test_corpus_design.REQUESTS],
    "design files": [c.id for c in test_corpus_design.FILES],
    "EIS files": [c.id for c in test_corpus_eis.CASES],
    "data-stage tables and options": [c.id for c in test_corpus_tables.CASES],
    "tables for glassline init": [c.id for c in test_corpus_init.CASES],
    "output paths": [c.id for c in test_corpus_outputs.CASES],
    "API payloads": [c.id for c in test_corpus_api.CALLS],
}
MINIMUM_KINDS = 120


def test_the_corpus_has_at_least_120_distinct_kinds() -> None:
    every = [case_id for ids in CATEGORIES.values() for case_id in ids]
    repeated = sorted({case_id for case_id in every if every.count(case_id) > 1})
    assert not repeated, f"case ids used twice: {repeated}"
    assert len(every) >= MINIMUM_KINDS, {name: len(ids) for name, ids in CATEGORIES.items()}


def test_every_category_has_cases() -> None:
    assert all(len(ids) >= 10 for ids in CATEGORIES.values()), {name: len(ids) for name, ids in CATEGORIES.items()}
