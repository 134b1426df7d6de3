"""Global object identification: the ``Node`` interface, ``nodeId`` and ``node``/``nodes``.

Every object a client caches (rule sets, versions, households, determination records, alerts,
monitoring cases, rows of a version diff) has a ``nodeId``: an opaque id unique across the
whole schema, which ``Query.node(id:)`` and ``Query.nodes(ids:)`` take back. It is the type's
name and the object's key, as JSON in URL-safe base64; clients must not take it apart (the
format may change).

The interface's id field is ``nodeId``, not ``id``: the types had an ``id`` (a household's own
id, a version's id) before, which mutations and clients use, and the contract grows the schema
only by adding. Relay reads it with ``schemaConfig.nodeInterfaceIdField: "nodeId"``; Apollo
Client with ``dataIdFromObject: (o) => o.nodeId ?? defaultDataIdFromObject(o)``
(docs/clients.md). ``RuleSet.id`` is the rule set's ``nodeId``, and a ``RuleDiff``'s ``id`` is
its row's ``nodeId`` (both versions and the rule), so Apollo's default cache keys never mix
up two objects either.

What ``node`` returns is what the type's own query returns to the caller: an object another
region's caseworker may not read is null (not acknowledged to exist), as is an id that names
nothing; a caller who may not read that kind of object at all gets the field's error.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Annotated, Any

import strawberry
from strawberry.types.cast import get_strawberry_type_cast

from graphql_api.errors import service_error
from services.errors import ServiceError

# type name -> how many key parts its ids have
KINDS = {"RuleSet": 1, "RuleSetVersion": 1, "Household": 1, "DeterminationRecord": 1,
         "Alert": 1, "RuleDiff": 3, "MonitoringCase": 1}

MAX_IDS = 100  # nodes(ids:) at most


def global_id(type_name: str, *key: str) -> str:
    """The opaque id of the object of ``type_name`` with ``key``.

    >>> global_id("Household", "hh-001")
    'WyJIb3VzZWhvbGQiLCJoaC0wMDEiXQ'
    >>> parse_global_id(global_id("RuleDiff", "a", "b", "r"))
    ('RuleDiff', ('a', 'b', 'r'))
    """
    raw = json.dumps([type_name, *key], separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_global_id(gid: str) -> tuple[str, tuple[str, ...]] | None:
    """The type name and key inside ``gid``; None unless it is an id this service made."""
    try:
        value = json.loads(base64.urlsafe_b64decode(gid + "=" * (-len(gid) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if (not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value)
            or KINDS.get(value[0]) != len(value) - 1
            or any("\x00" in v or len(v) > 200 for v in value)):
        return None
    return value[0], tuple(value[1:])


@strawberry.interface(description="An object with an id unique across the whole schema "
                      "(Relay's object identification, the id field named nodeId). 可全局识别的"
                      "对象。")
class Node:
    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        """The service serves its own views (not instances of these classes): any object is
        of the type its field declares, unless ``node`` cast it to another."""
        cast = get_strawberry_type_cast(obj)
        return cast is None or cast is cls

    @strawberry.field(description="Opaque global id, unique across every type; Query.node takes "
                      "it back. Do not take it apart. 全局唯一标识（不透明）。")
    def node_id(self) -> strawberry.ID:  # pragma: no cover - each type has its own
        raise NotImplementedError


def _lookup(info: strawberry.Info, gid: str) -> Any:
    """The object ``gid`` names as its type's query serves it to the caller, or None."""
    from graphql_api import types as t
    from graphql_api.cases import MonitoringCase, monitoring_case
    from graphql_api.warning import Alert, alert

    parsed = parse_global_id(gid)
    if parsed is None:
        return None
    kind, key = parsed
    ctx = info.context
    p = ctx.principal
    finders: dict[str, tuple[type, Callable[[], Any]]] = {
        "RuleSet": (t.RuleSet, lambda: ctx.app.rule_set(p, key[0])),
        "RuleSetVersion": (t.RuleSetVersion, lambda: ctx.app.editing.version(p, key[0])),
        "Household": (t.Household, lambda: ctx.app.household(p, key[0])),
        "DeterminationRecord": (t.DeterminationRecord,
                                lambda: ctx.app.determination_record(p, key[0])),
        "Alert": (Alert, lambda: alert(ctx.app.warning.alert(p, key[0]))),
        "MonitoringCase": (MonitoringCase,
                           lambda: monitoring_case(ctx.app.cases.case(p, key[0]))),
        "RuleDiff": (t.RuleDiff, lambda: t.diff_row(ctx.app.editing.diff(p, key[1], key[0]),
                                                    key[2])),
    }
    cls, find = finders[kind]
    try:
        found = find()
    except ServiceError as exc:
        if exc.code == "NOT_FOUND":
            return None
        raise service_error(exc) from None
    return None if found is None else strawberry.cast(cls, _Served(found))


class _Served:
    """An object served through ``node``: the service's (often frozen) view, with room for
    the mark ``strawberry.cast`` puts on it to tell the interface's concrete type."""

    def __init__(self, obj: Any):
        self._obj = obj

    def __getattr__(self, name: str) -> Any:
        return getattr(self._obj, name)


@strawberry.type
class NodeQuery:
    @strawberry.field(description="The object with this nodeId, if it exists and you may read "
                      "it (null otherwise, as the type's own query answers). 按全局标识读取对象。")
    def node(self, info: strawberry.Info,
             id: Annotated[strawberry.ID, strawberry.argument(
                 description="A nodeId as the service gave it.")]) -> Node | None:
        return _lookup(info, str(id))  # type: ignore[no-any-return]

    @strawberry.field(description=f"The objects with these nodeIds, in order (at most "
                      f"{MAX_IDS}); null for each that does not exist or you may not read. "
                      "按全局标识批量读取。")
    def nodes(self, info: strawberry.Info,
              ids: Annotated[list[strawberry.ID], strawberry.argument(
                  description="nodeIds as the service gave them.")]) -> list[Node | None]:
        from policy.errors import FieldError
        from services.errors import InvalidInput

        if len(ids) > MAX_IDS:
            msg = f"at most {MAX_IDS} ids, got {len(ids)}"
            raise service_error(InvalidInput(msg, [FieldError("ids", "TOO_MANY_IDS", msg)],
                                             code="TOO_MANY_IDS"))
        out: list[Any] = []
        for gid in ids:
            try:
                out.append(_lookup(info, str(gid)))
            except Exception as exc:  # that item's error, at its path (masked if internal)
                out.append(exc)
        return out
