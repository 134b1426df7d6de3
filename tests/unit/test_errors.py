"""``policy/errors.py`` draws the policy package's exception hierarchy in its docstring: the
drawing must name every exception class the package defines, under its base."""

from __future__ import annotations

import importlib
import pkgutil
import re

import policy
from policy import errors


def _classes() -> dict[str, str]:
    """Every exception class defined in the policy package, with its base's name."""
    for info in pkgutil.walk_packages(policy.__path__, "policy."):
        importlib.import_module(info.name)
    found: dict[str, str] = {}
    todo = [errors.PolicyError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("policy."):
                found[sub.__name__] = cls.__name__
                todo.append(sub)
    return found


def _drawing() -> dict[str, str]:
    """The drawing's classes, each with the class it hangs under (by indentation)."""
    assert errors.__doc__ is not None
    lines = [line for line in errors.__doc__.splitlines() if re.match(r"^\s{4}\S", line)]
    parents: list[tuple[int, str]] = []
    out: dict[str, str] = {}
    for line in lines:
        match = re.match(r"^(\s*(?:[│ ]\s*)*)(?:[├└]── )?(\w+)", line)
        assert match is not None, line
        depth, name = match.start(2), match.group(2)
        while parents and parents[-1][0] >= depth:
            parents.pop()
        if parents:
            out[name] = parents[-1][1]
        parents.append((depth, name))
    return out


def test_the_docstring_draws_every_exception_under_its_base() -> None:
    assert _drawing() == _classes()
    assert "PolicyError" not in _classes()  # the root is drawn as the root
