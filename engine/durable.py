"""The one module that talks to durable_rules, and how it is contained.

Measured hazards of durable_rules 2.0.28 and what this module does about each:

* Its ``Host`` starts dispatcher and timer threads that raced request threads into a segfault:
  we call the compiled module's functions directly and never start a Host; every call into the
  C engine happens under one process-wide lock.
* A ruleset can never be unregistered (deleting one leaks): each compiled version is registered
  once per process, keyed by its content hash.
* ``delete_state`` reads uninitialised memory (valgrind: ``deleteStateNode``) and crashed the
  process with SIGSEGV for some households, depending on heap layout. Sessions are therefore
  never deleted: each ruleset has one session id, and an evaluation retracts every fact it
  asserted before it returns, leaving the session empty for the next one (checked: valgrind
  reports no error, and resident memory stays flat over a million evaluations, see
  ``bench/stress_durable.py``). Should a retraction fail, the ruleset moves to a fresh session
  id, so a half-cleaned session is never reused. This also keeps far below the 1024 live
  sessions a ruleset allows.
* Fact identities are 32-bit hashes of ``sid!id``: the facts of an evaluation get the ids
  ``"h"`` and ``"0"`` .. ``"19"`` (collision-free, see the tests) and carry the member's real id
  nowhere near durable_rules.
* ``post`` fires only the first matching rule, and a rule with ``$or`` fires once per true
  branch: facts are asserted with ``assert_fact(s)`` and firings are de-duplicated.
* Exceptions inside actions are swallowed: there are no actions; firings are only read.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from fractions import Fraction
from typing import Any

import durable_rules_engine as _dr
import orjson

_LOCK = threading.Lock()
_SIDS = itertools.count(1)
_REGISTERED: dict[str, int] = {}  # ruleset name -> handle
_SESSION_OF: dict[int, str] = {}  # handle -> the session id evaluations use

HOUSEHOLD_FACT_ID = "h"
MAX_FACTS = 21  # a household fact and at most 20 members
_FIRING = re.compile(r'\{"([A-Za-z0-9_]+)":\{"m":\{"id": ?"([A-Za-z0-9_]+)"')


def _number(value: float) -> str:
    text = repr(value)
    if "e" in text or "E" in text:
        # durable_rules' JSON parser crashes the process (SIGSEGV) on exponents such as 1e-05:
        # write the same number in plain decimal notation.
        text = format(Decimal(text), "f")
    return text


_EXPONENT = re.compile(rb"[0-9][eE][-+]?[0-9]")


def dumps_fact(fact: dict[str, Any]) -> str:
    """A flat fact as JSON that durable_rules can read: no exponents in numbers."""
    try:
        raw = orjson.dumps(fact)
    except TypeError:  # e.g. an integer beyond 64 bits
        return _dumps_plain(fact)
    # orjson writes a NaN or an infinity as null, and facts hold no nulls: such a fact, or one
    # with an exponent (or a string that looks like one), is written again value by value,
    # which refuses numbers that are not finite.
    if b"null" in raw or _EXPONENT.search(raw) is not None:
        return _dumps_plain(fact)
    return raw.decode()


def _dumps_plain(fact: dict[str, Any]) -> str:
    parts = []
    for key, value in fact.items():
        if value is True:
            encoded = "true"
        elif value is False:
            encoded = "false"
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise DurableError(f"fact {key} is not a finite number: {value!r}")
            encoded = _number(value)
        elif isinstance(value, int):
            encoded = str(value)
        elif isinstance(value, Decimal | Fraction):
            # Exact numbers reach durable_rules as integers or as differences whose sign is
            # exact (engine.compiler): anything else would be compared inexactly.
            raise DurableError(f"fact {key} is not a double: {value!r}")
        else:
            encoded = json.dumps(value, ensure_ascii=False)
        parts.append(f"{json.dumps(key)}:{encoded}")
    return "{" + ",".join(parts) + "}"


class DurableError(RuntimeError):
    """durable_rules refused a ruleset or a fact."""


def member_fact_id(index: int) -> str:
    return str(index)


def register(name: str, definition: dict[str, Any]) -> int:
    """The handle of a ruleset, registering it on first use (never twice: it cannot be freed)."""
    with _LOCK:
        handle = _REGISTERED.get(name)
        if handle is None:
            try:
                handle = _dr.create_ruleset(name, json.dumps(definition, ensure_ascii=False))
            except Exception as exc:  # the C module raises plain Exception
                raise DurableError(f"durable_rules refused ruleset {name}: {exc}") from exc
            _REGISTERED[name] = handle
            _SESSION_OF[handle] = f"s{next(_SIDS)}"
        return handle


def registered_count() -> int:
    return len(_REGISTERED)


Firings = dict[str, set[str]]  # rule name -> ids of the facts it fired for


class Session:
    """One evaluation's use of a ruleset's session; only valid inside ``session()``."""

    def __init__(self, handle: int, sid: str):
        self.handle = handle
        self.sid = sid
        self.asserted: list[dict[str, Any]] = []

    def assert_facts(self, facts: list[dict[str, Any]]) -> Firings:
        """Assert facts (each with ``id`` first, then ``t``) and return the rules they fired."""
        if not facts:
            return {}
        for f in facts:
            f["sid"] = self.sid
        self.asserted.extend(facts)
        if len(facts) == 1:
            result = _dr.assert_fact(self.handle, dumps_fact(facts[0]))
        else:
            result = _dr.assert_facts(self.handle, "[" + ",".join(map(dumps_fact, facts)) + "]")
        return self._drain(result[1])

    def _drain(self, state_handle: int) -> Firings:
        fired: Firings = {}
        started = _dr.start_action_for_state(self.handle, state_handle)
        if not started:
            return fired
        message = started[1]
        while message:
            # A firing is {"<rule>":{"m":{"id": "<fact id>", ...}}}: our facts put ``id`` first,
            # so the two names are read without parsing the whole fact.
            m = _FIRING.match(message)
            if m is None:
                raise DurableError(f"unexpected firing from durable_rules: {message[:200]}")
            fired.setdefault(m.group(1), set()).add(m.group(2))
            message = _dr.complete_and_start_action(self.handle, state_handle)
        return fired

    def retract_all(self) -> None:
        # A fact's identity is its sid and id: that is all a retraction needs to send.
        if self.asserted:
            _dr.retract_facts(self.handle,
                              _retraction(self.sid, tuple(f["id"] for f in self.asserted)))
            self.asserted = []


@functools.lru_cache(maxsize=256)
def _retraction(sid: str, ids: tuple[str, ...]) -> str:
    """The retraction message of these facts (the same few for every household: ``h`` and
    ``0`` .. ``n-1``)."""
    return json.dumps([{"id": i, "sid": sid} for i in ids])


@contextmanager
def session(handle: int) -> Iterator[Session]:
    """``with session(handle) as s: s.assert_facts(...)``: the lock is held throughout, and on
    exit every fact asserted is retracted again."""
    with _LOCK:
        s = Session(handle, _SESSION_OF[handle])
        try:
            yield s
        finally:
            try:
                s.retract_all()
            except Exception:
                _SESSION_OF[handle] = f"s{next(_SIDS)}"
