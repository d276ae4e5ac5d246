"""The fast YAML writer writes exactly PyYAML's bytes, or hands the document to PyYAML."""

from __future__ import annotations

import random
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from modelplane.render.base import dump_objects, parse_objects
from modelplane.render.yaml_writer import Unusual, dump_document, pyyaml_document, write_document
from tests.conftest import ROOT

PIECES = [
    "a", "Name", "x-y", "a.b/c", "_x", "(q)", "/p", "0", "12", "1.5", "1e3", "0x1f", "2026-01-01", "on", "No",
    "y", "N", "null", "~", "", " ", "  ", ": ", ":", "#", " #", "- ", "-", "?", "? ", "'", '"', "\\", "{", "}",
    "[", "]", ",", "&a", "*a", "!x", "|", ">", "%", "@", "`", "---", "...", "=", "<<", "\t", "\n", "\n\n",
    "\r", "\x85", "\u2028", "é", "日本", "\ufeff", "\x00", "\x7f", "{{ .Values.x }}", 'sum(rate(x{a="b"}[5m]))',
]

words = st.lists(st.sampled_from(PIECES), min_size=0, max_size=6).map("".join)
scalars = st.one_of(
    words,
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
documents = st.dictionaries(
    words,
    st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(words, inner, max_size=4)),
        max_leaves=25,
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=1500, deadline=None)
@given(documents)
def test_generated_documents_are_written_as_pyyaml_writes_them(document: dict[str, Any]) -> None:
    expected = pyyaml_document(document)
    assert dump_document(document) == expected
    try:
        fast = write_document(document)
    except Unusual:
        return
    assert fast == expected


def _plain_document(rng: random.Random, depth: int = 0) -> Any:
    """Documents of the shapes compile writes, mostly on the fast path."""
    roll = rng.random()
    if depth > 3 or roll < 0.45:
        return rng.choice(
            ["churn", "ml-prod", 'rate(x{a="b"}[5m]) > 0.2', "0.85", "true", "y", "a b", "line one\nline two\n",
             "{\n  \"a\": 1\n}", 3, 0.25, 1e-05, False, None, "", "http://x:80/p"]
        )
    if roll < 0.7:
        return [_plain_document(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    keys = ["apiVersion", "kind", "metadata", "spec", "name", "app.kubernetes.io/name", "for", "y", "on"]
    return {rng.choice(keys): _plain_document(rng, depth + 1) for _ in range(rng.randrange(0, 5))}


def test_the_fast_path_is_taken_and_exact_on_compile_shaped_documents() -> None:
    rng = random.Random(7)
    fast = 0
    for _ in range(3000):
        document = {"root": _plain_document(rng)}
        try:
            written = write_document(document)
        except Unusual:
            continue
        fast += 1
        assert written == pyyaml_document(document), document
    assert fast > 2500


def test_every_rendered_file_is_rewritten_byte_for_byte() -> None:
    files = [p for p in sorted((ROOT / "rendered").rglob("*")) if p.suffix in (".yaml", ".yml")]
    assert len(files) > 50
    for path in files:
        text = path.read_text(encoding="utf-8")
        if text.startswith("---\n"):
            assert dump_objects(parse_objects(text)) == text, path
        else:
            assert dump_document(yaml.safe_load(text)) == text, path
        for doc in parse_objects(text):
            write_document(doc)  # compile's own output never needs the slow path


def test_a_document_that_is_not_a_mapping_goes_to_pyyaml() -> None:
    for data in ({}, [], "x", [{"a": 1}], {1: "a"}, {"k": ("t",)}):
        assert dump_document(data) == pyyaml_document(data)


def test_pyyaml_quotes_what_yaml_1_1_reads_as_booleans() -> None:
    text = dump_document({"a": "y", "b": "on", "c": "n", "d": "yes"})
    assert yaml.safe_load(text) == {"a": "y", "b": "on", "c": "n", "d": "yes"}
