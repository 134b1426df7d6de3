"""The strings a request's variables bring: a quick walk says whether all are fine, and only a
request with a string that breaks the rules is walked again for the paths of its errors."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from graphql_api.strings import _all_fine, check_variables

TEXTS = st.text(alphabet=st.sampled_from("ab\x00中"), max_size=6)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXTS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXTS, inner, max_size=4),
    max_leaves=12)


@given(VALUES)
def test_the_quick_walk_agrees_with_the_errors(variables: Any) -> None:
    errors = check_variables({"h": variables}, 4)
    assert _all_fine({"h": variables}, 4) == (errors == [])
    for e in errors:
        assert e.extensions is not None and e.extensions["code"] == "INVALID_STRING"


def test_errors_name_their_paths() -> None:
    variables = {"h": {"members": [{"id": "m1"}, {"id": "a\x00"}], "x" * 9: 1}}
    assert _all_fine({"h": {"members": [{"id": "m1"}]}}, 8)
    assert not _all_fine(variables, 8)
    said = [(e.extensions or {})["field"] for e in check_variables(variables, 8)]
    assert sorted(said) == ["$h", "$h.members[1].id"]
