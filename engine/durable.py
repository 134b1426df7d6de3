"""The one module that talks to durable_rules, and how it is contained.

Measured hazards of durable_rules 2.0.28 and what this module does about each:

* Its ``Host`` starts dispatcher and timer threads that raced request threads into a segfault:
  we call the compiled module's functions directly and never start a Host; every call into the
  C engine happens under one process-wide lock.
* A ruleset can never be unregistered (deleting one leaks): each compiled version is registered
  once per process, keyed by its content hash.
* At most 1024 live sessions per ruleset, and session ids are 32-bit hashes: one short-lived
  session per evaluation, with a fresh sid from a process-wide counter, deleted in ``finally``;
  since the lock is held for the whole session, at most one session is ever live.
* Fact identities are 32-bit hashes of the fact's ``id``: facts in a session get the ids
  ``"h"`` and ``"0"`` .. ``"19"`` (checked once to be collision-free) and carry the member's real
  id in their own field.
* ``post`` fires only the first matching rule, and a rule with ``$or`` fires once per true
  branch: facts are asserted with ``assert_fact(s)`` and firings are de-duplicated.
* Exceptions inside actions are swallowed: there are no actions; firings are only read.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterable
from typing import Any

import durable_rules_engine as _dr

_LOCK = threading.Lock()
_SIDS = itertools.count(1)
_REGISTERED: dict[str, int] = {}  # ruleset name -> handle

HOUSEHOLD_FACT_ID = "h"


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
        return handle


def registered_count() -> int:
    return len(_REGISTERED)


Firings = dict[str, set[str]]  # rule name -> ids of the facts it fired for


class Session:
    """One short-lived session; use only inside ``session()``, which holds the lock."""

    def __init__(self, handle: int, sid: str):
        self.handle = handle
        self.sid = sid

    def assert_facts(self, facts: Iterable[dict[str, Any]]) -> Firings:
        """Assert facts (each with ``id`` and ``t``) and return the rules they fired."""
        batch = [{**f, "sid": self.sid} for f in facts]
        if not batch:
            return {}
        if len(batch) == 1:
            result = _dr.assert_fact(self.handle, json.dumps(batch[0], ensure_ascii=False))
        else:
            result = _dr.assert_facts(self.handle, json.dumps(batch, ensure_ascii=False))
        return self._drain(result[1])

    def _drain(self, state_handle: int) -> Firings:
        fired: Firings = {}
        started = _dr.start_action_for_state(self.handle, state_handle)
        if not started:
            return fired
        message = started[1]
        while message:
            for rule, frame in json.loads(message).items():
                fact = frame.get("m", frame)
                fired.setdefault(rule, set()).add(str(fact.get("id")))
            message = _dr.complete_and_start_action(self.handle, state_handle)
        return fired


class session:  # noqa: N801 - used as a context manager, reads as a verb
    """``with session(handle) as s: s.assert_facts(...)``: a fresh sid, deleted on exit."""

    def __init__(self, handle: int):
        self.handle = handle

    def __enter__(self) -> Session:
        _LOCK.acquire()
        self.sid = f"s{next(_SIDS)}"
        return Session(self.handle, self.sid)

    def __exit__(self, *exc: object) -> None:
        try:
            _dr.delete_state(self.handle, self.sid)
        except Exception:  # noqa: BLE001, S110 - no state was created: nothing to delete
            pass
        finally:
            _LOCK.release()
