"""The loader: source positions, YAML 1.2 scalars, and its limits at and past the boundary."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from modelplane.loader import (
    MAX_ALIAS_EXPANSION,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    Position,
    _check_bytes,
    nesting_bound,
    parse_text,
)

DOC = """\
a:
  b: 1
  list:
    - x
    - {k: v}
"""


def test_positions_of_keys_and_values() -> None:
    doc, problems = parse_text(DOC, "f.yaml")
    assert doc is not None and problems == []
    src = doc.source
    assert src.keys[("a",)] == Position("f.yaml", 1, 1)
    assert src.keys[("a", "b")] == Position("f.yaml", 2, 3)
    assert src.values[("a", "b")] == Position("f.yaml", 2, 6)
    assert src.values[("a", "list", 0)] == Position("f.yaml", 4, 7)
    assert src.keys[("a", "list", 1, "k")] == Position("f.yaml", 5, 8)


def test_locate_falls_back_to_the_nearest_ancestor() -> None:
    doc, _ = parse_text(DOC, "f.yaml")
    assert doc is not None
    assert doc.source.locate(("a", "missing", "deeper")) == Position("f.yaml", 1, 1)
    assert doc.source.locate(("a", "list", 1, "nope")) == Position("f.yaml", 5, 7)
    assert doc.source.locate(("a", "b"), at_key=True) == Position("f.yaml", 2, 3)


def test_yaml_1_2_scalars() -> None:
    doc, _ = parse_text(
        "a: yes\nb: no\nc: on\nd: 0x10\ne: 0o17\nf: 2026-01-31\ng: ~\nh: .inf\ni: '1'\nj: 1.5e3\nk: TRUE\n", "f"
    )
    assert doc is not None
    assert doc.data == {
        "a": "yes",
        "b": "no",
        "c": "on",
        "d": 16,
        "e": 15,
        "f": "2026-01-31",
        "g": None,
        "h": float("inf"),
        "i": "1",
        "j": 1500.0,
        "k": True,
    }


def test_byte_order_mark_is_ignored() -> None:
    text, problem = _check_bytes("\ufeffa: 1\n".encode(), "f")
    assert problem is None and text == "a: 1\n"


def test_size_limit_boundary() -> None:
    assert _check_bytes(b"#" * MAX_FILE_BYTES, "f")[1] is None
    problem = _check_bytes(b"#" * (MAX_FILE_BYTES + 1), "f")[1]
    assert problem is not None and "limit is 1 MiB" in problem.message


def _nested(levels: int) -> str:
    return "a: " + "[" * levels + "]" * levels + "\n"


def test_depth_limit_boundary() -> None:
    # the document's top mapping is level 0, `a`'s value level 1, each bracket one more
    assert parse_text(_nested(MAX_DEPTH), "f")[1] == []
    problems = parse_text(_nested(MAX_DEPTH + 1), "f")[1]
    assert [p.message for p in problems] == [f"nesting is deeper than {MAX_DEPTH} levels"]


def _aliases(repeats: int) -> str:
    return "base: &b [1]\n" + "".join(f"r{i}: *b\n" for i in range(repeats))


def test_alias_expansion_boundary() -> None:
    # each alias re-visits the list and its one item: two repeated nodes per alias
    assert parse_text(_aliases(MAX_ALIAS_EXPANSION // 2), "f")[1] == []
    problems = parse_text(_aliases(MAX_ALIAS_EXPANSION // 2 + 1), "f")[1]
    assert [p.message for p in problems] == [f"YAML aliases expand to more than {MAX_ALIAS_EXPANSION} nodes"]


_TREES = st.recursive(
    st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(_TREES, st.sampled_from([False, None, True]))
def test_the_nesting_bound_is_never_below_the_real_depth(tree: object, flow: bool | None) -> None:
    """The text scan that lets most specs skip the event-stream depth check never underestimates."""
    text = yaml.safe_dump(tree, default_flow_style=flow, indent=2)
    depth = deepest = 0
    for event in yaml.parse(text):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            deepest = max(deepest, depth)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    assert nesting_bound(text) >= deepest - 1  # the top collection is level 0
