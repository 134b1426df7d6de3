"""Serving plain data without per-field resolver work.

A full explanation is thousands of fields (a 5-member household: ~85 outcomes, each with
reasons, conditions and citations). Profiling showed graphql-core's per-field machinery
(resolve info, resolver call, completion) costing ~6 µs a field, twenty times the determination
itself. The engine's results are immutable plain data, so for the types listed in ``PLAIN``
(generated from the strawberry types: declared once) this execution context projects the
selection straight from the data: fields are still collected by graphql-core (fragments,
aliases, ``@skip``/``@include``), arguments still coerced by it, and leaves still serialised by
the schema's own scalars and enums; only the per-field resolver and completion calls are
skipped. Each selection on a plain type is compiled once per request into a
small Python function (attribute reads and serialisation inline), so projecting an object is one
call however many fields it has. A type whose selection names a field not listed here (say a
field with its own resolver) is executed the ordinary way. ``tests/api/test_projection.py``
checks that both paths give identical responses for generated selections.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterator, Mapping
from enum import Enum
from typing import Any, cast

import orjson
from graphql import (
    ExecutionResult,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)
from graphql.execution.values import get_argument_values
from graphql.pyutils import RefMap
from graphql.utilities import type_from_ast

from graphql_api.coercion import HouseholdCheckingExecutionContext
from policy.cache import BoundedCache

# A field's value: the source's attribute (``Attr``, its name possibly chosen by the selection's
# arguments), or a function of the selection's arguments that returns the getter (``Bind``).


class Attr:
    """The source's attribute of that name, or of the name the selection's arguments choose
    (read inline by the generated code)."""

    __slots__ = ("name",)

    def __init__(self, name: str | Callable[[Mapping[str, Any]], str]):
        self.name = name

    def attribute(self, args: Mapping[str, Any]) -> str:
        name = self.name(args) if callable(self.name) else self.name
        if not name.isidentifier():  # pragma: no cover - the names are ours
            raise ValueError(f"not an attribute name: {name!r}")
        return name


Bind = Callable[[Mapping[str, Any]], Callable[[Any], Any]]
Getter = Attr | Bind


def _arg(args: Mapping[str, Any], name: str) -> str | None:
    value = args.get(name)
    if value is None:
        return None
    return str(value.value if isinstance(value, Enum) else value)


def _lang(args: Mapping[str, Any]) -> str:
    return _arg(args, "lang") or "ZH"


def _in_language(prefix: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda args: f"{prefix}_en" if _lang(args).upper() == "EN" else f"{prefix}_zh"


# Set in the arguments a getter is bound with when the field's own selection does not ask
# for whatWouldChange (the only outcome field that needs the outcome's determination).
WITHOUT_CONTEXT = "\0withoutContext"


def _status_filter(in_context: Callable[[Any], Any],
                   plain: Callable[[Any], Any] | None = None) -> Bind:
    """Outcomes, filtered by the ``status`` argument: ``plain`` (the engine's own, shared
    outcome objects) when the selection does not ask for whatWouldChange, else ``in_context``
    (copies that know their determination)."""
    def bind(args: Mapping[str, Any]) -> Callable[[Any], Any]:
        read = plain if plain is not None and args.get(WITHOUT_CONTEXT) else in_context
        status = _arg(args, "status")
        if status is None:
            return read
        return lambda source: [o for o in read(source) if o.status.value == status]

    return bind


def _condition(args: Mapping[str, Any]) -> Callable[[Any], Any]:
    from engine.results import at_depth

    depth = args.get("depth", 1)
    return lambda reason: at_depth(reason.condition, depth)


def _term_label(args: Mapping[str, Any]) -> Callable[[Any], Any]:
    from policy.term_catalogue import TERMS

    lang = _lang(args)
    return lambda term: TERMS.label(term.key, lang)


def _term_unit_label(args: Mapping[str, Any]) -> Callable[[Any], Any]:
    from policy.term_catalogue import TERMS

    lang = _lang(args)
    return lambda term: TERMS.unit_label(term.unit, lang)


def _node_text(args: Mapping[str, Any]) -> Callable[[Any], Any]:
    from engine.words import node_text

    lang = _lang(args)
    return lambda node: node_text(node, lang)


def _node_actual_text(args: Mapping[str, Any]) -> Callable[[Any], Any]:
    from engine.words import actual_text

    lang = _lang(args)
    return lambda node: actual_text(node, lang)


def _what_would_change(args: Mapping[str, Any]) -> Callable[[Any], Any]:
    from graphql_api.types import outcome_changes

    return outcome_changes


# Fields with a resolver of their own that are served from the data all the same: each getter
# reads what its resolver reads (tests/api/test_projection.py compares both paths). Any other
# field with a resolver is executed the ordinary way.
RESOLVED: dict[str, dict[str, Getter]] = {
    "Determination": {
        "programs": Attr("programs_all"),
        "outcomes": _status_filter(lambda d: d.outcomes(), lambda d: d.outcomes_plain()),
    },
    "ProgramResult": {
        "ruleSetVersion": Attr("version"),
        "outcomes": _status_filter(lambda p: p.outcomes_all, lambda p: p.outcomes_plain),
    },
    "Outcome": {"title": Attr(_in_language("title")), "whatWouldChange": _what_would_change},
    "Reason": {"text": Attr(_in_language("text")), "condition": _condition},
    "ConditionNode": {"text": _node_text, "actualText": _node_actual_text},
    "FactChange": {"text": Attr(_in_language("text"))},
    "Term": {"label": _term_label, "unitLabel": _term_unit_label},
    "RuleSetVersion": {"nodeId": lambda args: _version_node_id},
}


def _fields_of_types() -> dict[str, dict[str, Getter]]:
    """The engine's plain result types, each field with its getter, from the strawberry types
    themselves (declared once): a field without a resolver is the source's attribute of its
    Python name, as strawberry's default resolver reads it; a field with one is served only if
    ``RESOLVED`` says how."""
    from strawberry.types.base import get_object_definition
    from strawberry.utils.str_converters import to_camel_case

    from graphql_api import types

    out: dict[str, dict[str, Getter]] = {}
    for cls in (types.Determination, types.ProgramResult, types.Outcome, types.Term,
                types.Reason, types.ConditionNode, types.FactChange, types.Citation,
                types.ConditionCheck, types.RuleSetVersion):
        definition = get_object_definition(cls, strict=True)
        resolved = RESOLVED.get(definition.name, {})
        fields: dict[str, Getter] = {}
        for f in definition.fields:
            name = f.graphql_name or to_camel_case(f.python_name)
            if name in resolved:
                fields[name] = resolved[name]
            elif f.base_resolver is None:
                fields[name] = Attr(f.python_name)
        out[definition.name] = fields
    return out


PLAIN: dict[str, dict[str, Getter]] = _fields_of_types()


def _version_node_id(version: Any) -> str:
    from graphql_api.node import global_id

    return global_id("RuleSetVersion", str(version.id))


_IDENTITY_SCALARS = {"String": "str", "Boolean": "bool", "ID": "str"}


class _Code:
    """Generated source's references to objects."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {}

    def ref(self, obj: Any) -> str:
        name = f"_{len(self.names)}"
        self.names[name] = obj
        return name


# The completion of a value held in a local variable, as an expression: (variable, code) -> str.
Completion = Callable[[str, _Code], str]

# A selection's signature: the type, and per field its response name, name, argument values and
# the signature of its own selection. Two selections with the same signature project alike,
# whatever request, document or variables they come from, so compiled plans are kept across
# requests by signature (bounded).
PLANS_LIMIT = 1024
_PLANS: BoundedCache[Hashable, _Plan] = BoundedCache("graphql.plans", PLANS_LIMIT)
# Projected reasons are shared between requests: most are the explainer's memoised values (the
# same object for every household whose rules read the same values), and a projection depends
# only on the object and the selection (the plan's signature). Bounded; an entry keeps its
# object alive so the id in its key is not reused. Outcomes are not shared: for a never-seen
# household about four in five are its own objects, never asked about again, and keeping their
# projections (looked up, copied, put, evicted some 500 answers later, walked by the collector
# meanwhile) cost more than the one in five found again saved (docs/performance.md, issue 13,
# "Outcomes' projections not shared").
SHARED_TYPES = frozenset({"Determination", "Reason"})
SHARED_LIMIT = 50_000
_SHARED: BoundedCache[tuple[int, int], tuple[Any, dict[str, Any]]] = BoundedCache(
    "graphql.shared_projections", SHARED_LIMIT)
# A number per shared selection's signature (never reused: an evicted signature's entries in
# _SHARED are never hit again and age out).
_TOKENS: BoundedCache[Hashable, int] = BoundedCache("graphql.shared_selections", PLANS_LIMIT)
_NEXT_TOKEN = itertools.count()


# Plans by document key (``_document_key``): the signature need not be computed again.
_BY_DOCUMENT: BoundedCache[Hashable, tuple[tuple[Any, ...], _Plan]] = BoundedCache(
    "graphql.plans_by_document", PLANS_LIMIT)
_INPUT_OBJECT_ARGUMENTS: dict[int, tuple[object, bool]] = {}


def _takes_input_objects(schema: Any) -> bool:
    """Whether a plain field of this schema takes an input-object argument (then a selection's
    shape may depend on any variable, and plans are not looked up by document)."""
    known = _INPUT_OBJECT_ARGUMENTS.get(id(schema))
    if known is not None and known[0] is schema:
        return known[1]
    takes = any(
        isinstance(get_named_type(arg.type), GraphQLInputObjectType)
        for type_name, fields in PLAIN.items() if type_name in schema.type_map
        for field_name in fields if field_name in schema.type_map[type_name].fields
        for arg in schema.type_map[type_name].fields[field_name].args.values()
    )
    _INPUT_OBJECT_ARGUMENTS[id(schema)] = (schema, takes)
    return takes


class _Plan:
    """A selection on a plain type, compiled to one Python function (``run``) that builds the
    response object: attribute reads, the scalars' and enums' serialisation and the nested
    selections, with no per-field calls left for plain attributes."""

    __slots__ = ("run", "signature")

    def __init__(self, run: Callable[[Any], dict[str, Any]], signature: Hashable):
        self.run = run
        self.signature = signature


class _Signed:
    """A grouped field set's signature, and whether every object under it is plain data (only
    then can its plan serve other requests: an ordinary object is executed by this request's
    context)."""

    __slots__ = ("plain", "signature")

    def __init__(self, signature: Hashable, plain: bool):
        self.signature = signature
        self.plain = plain


class ProjectingExecutionContext(HouseholdCheckingExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per grouped field set (graphql-core memoises those by identity, so every item of a
        # list shares one): its signature (None: not plain data), and this request's plans.
        self._signed: dict[int, tuple[object, _Signed | None]] = {}
        self._local: dict[int, tuple[object, _Plan]] = {}
        self._variables_key: Hashable = None

    def execute_operation(self, serially: bool | None = None) -> Any:
        result = super().execute_operation(serially)
        if self.is_awaitable(result):
            return self._released_after(result)
        if isinstance(result, ExecutionResult):
            self._release()
        return result

    async def _released_after(self, result: Any) -> Any:
        done = await result
        if isinstance(done, ExecutionResult):
            self._release()
        return done

    def _release(self) -> None:
        # graphql-core's executor refers to itself through its async helpers (bound methods of
        # its own), so a finished request's executor, with its variables (an eventsIngest's
        # thousand events) and context, is a reference cycle that only a collection frees. Once
        # the operation is done nothing reads the helpers: with the cycle broken, reference
        # counting frees the request at once, and the server's collector policy (freezing what
        # survives a full collection) cannot freeze a request that was in flight for good.
        self.async_helpers = None  # type: ignore[assignment]

    def build_per_event_executor(self, payload: Any) -> ProjectingExecutionContext:
        # graphql-core copies a subscription's executor for each event it pushes, sharing the
        # memos keyed by the identity of a selection's field lists, and every event brings
        # new lists: shared, those memos grew by an entry an event for as long as the
        # subscription lasted (the alertRaised memory growth). Each event gets its own.
        executor = cast("ProjectingExecutionContext", super().build_per_event_executor(payload))
        executor._relevant_sub_fields = {}
        executor._stream_usages = RefMap()
        executor._signed = {}
        executor._local = {}
        return executor

    def execute_fields(
        self, parent_type: GraphQLObjectType, source_value: Any, path: Any,
        grouped_field_set: dict[str, Any], position_context: Any,
    ) -> Any:
        try:
            plan = self._plan(parent_type, grouped_field_set)
        except GraphQLError:
            # An argument that does not coerce (e.g. a null for a non-null variable): ordinary
            # execution reports it where graphql-core would, with the field's path.
            plan = None
        if plan is None:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set,
                                          position_context)
        return plan.run(source_value)

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: dict[str, Any],
              ) -> _Plan | None:
        by_document = self._document_key(parent_type, grouped_field_set)
        if by_document is not None:
            known = _BY_DOCUMENT.get(by_document[0])
            if known is not None:
                return known[1]
        signed = self._sign(parent_type, grouped_field_set)
        if signed is None:
            return None
        if signed.plain:
            plan = _PLANS.get(signed.signature)
            if plan is None:
                plan = self._make_plan(parent_type, grouped_field_set, signed.signature)
                _PLANS.put(signed.signature, plan)
            if by_document is not None:
                _BY_DOCUMENT.put(by_document[0], (by_document[1], plan))
            return plan
        local = self._local.get(id(grouped_field_set))
        if local is not None and local[0] is grouped_field_set:
            return local[1]
        plan = self._make_plan(parent_type, grouped_field_set, None)
        self._local[id(grouped_field_set)] = (grouped_field_set, plan)
        return plan

    def _document_key(self, parent_type: GraphQLObjectType, grouped_field_set: dict[str, Any],
                      ) -> tuple[Hashable, tuple[Any, ...]] | None:
        """A key for this selection that skips computing its signature on later requests: the
        selection's own field nodes (the parser cache hands every request with the same text
        the same document) and the values of the variables that can shape a selection.
        Variables of input-object types cannot (no plain field takes an input object, and
        ``@skip``/``@include`` take booleans), so the household itself is not part of it.
        Returns the key and the nodes it names (kept alive with the entry, so ids are not
        reused)."""
        if parent_type.name not in PLAIN or _takes_input_objects(self.schema):
            return None
        nodes = tuple(fd.node for fdl in grouped_field_set.values() for fd in fdl)
        if self._variables_key is None:
            self._variables_key = self._shaping_variables()
        return (parent_type.name, tuple(map(id, nodes)), self._variables_key), nodes

    def _shaping_variables(self) -> Hashable:
        coerced = self.variable_values.coerced
        parts = []
        for definition in self.operation.variable_definitions or ():
            named = get_named_type(type_from_ast(self.schema, definition.type))
            if isinstance(named, GraphQLInputObjectType):
                continue
            name = definition.variable.name.value
            parts.append((name, name in coerced, _freeze(coerced.get(name))))
        return tuple(parts)

    def _sign(self, parent_type: GraphQLObjectType, grouped_field_set: dict[str, Any],
              ) -> _Signed | None:
        hit = self._signed.get(id(grouped_field_set))
        if hit is not None and hit[0] is grouped_field_set:
            return hit[1]
        signed = self._signature(parent_type, grouped_field_set)
        self._signed[id(grouped_field_set)] = (grouped_field_set, signed)
        return signed

    def _fields(self, parent_type: GraphQLObjectType, grouped_field_set: dict[str, Any],
                ) -> Iterator[tuple[str, str | None, Any, Any, dict[str, Any]]]:
        """Each selected field of a plain type: its response name, name, details, definition and
        argument values (``__typename``: no definition). Stops at a field that is not plain
        data, after yielding it with no definition and ``None`` for its name."""
        getters = PLAIN[parent_type.name]
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            name = node.name.value
            if name == "__typename":
                yield response_name, name, field_details_list, None, {}
                continue
            if name not in getters:
                yield response_name, None, field_details_list, None, {}
                return
            field_def = parent_type.fields[name]
            args = (get_argument_values(field_def, node, self.variable_values)
                    if field_def.args else {})
            yield response_name, name, field_details_list, field_def, args

    def _signature(self, parent_type: GraphQLObjectType, grouped_field_set: dict[str, Any],
                   ) -> _Signed | None:
        if parent_type.name not in PLAIN:
            return None
        parts: list[Hashable] = [parent_type.name]
        plain = True
        for response_name, name, field_details_list, field_def, args in self._fields(
                parent_type, grouped_field_set):
            if name is None:
                return None  # not plain data: the whole object takes the ordinary path
            if field_def is None:
                parts.append((response_name, name))
                continue
            sub: Hashable = None
            named = get_named_type(field_def.type)
            if isinstance(named, GraphQLObjectType):
                inner = self.collect_subfields(named, field_details_list).grouped_field_set
                signed = self._sign(named, inner)
                if signed is None or not signed.plain:
                    plain = False
                    sub = None if signed is None else signed.signature
                else:
                    sub = signed.signature
            parts.append((response_name, name, _frozen(args), sub))
        return _Signed(tuple(parts), plain)

    def _make_plan(self, parent_type: GraphQLObjectType, grouped_field_set: dict[str, Any],
                   signature: Hashable) -> _Plan:
        getters = PLAIN[parent_type.name]
        code = _Code()
        body: list[str] = []
        nested = False  # whether a field is an object (a selection of its own)
        for response_name, name, field_details_list, field_def, args in self._fields(
                parent_type, grouped_field_set):
            key = repr(response_name)
            if field_def is None or name is None:  # __typename: a plan's fields are all plain
                body.append(f"    out[{key}] = {parent_type.name!r}")
                continue
            nested = nested or isinstance(get_named_type(field_def.type), GraphQLObjectType)
            getter = getters[name]
            if isinstance(getter, Attr):
                body.append(f"    v = src.{getter.attribute(args)}")
            else:
                if name == "outcomes" and not self._asks_what_would_change(
                        field_def.type, field_details_list):
                    args = {**args, WITHOUT_CONTEXT: True}
                body.append(f"    v = {code.ref(getter(args))}(src)")
            complete = self._completer(field_def.type, field_details_list)
            body.append(f"    out[{key}] = {complete('v', code)}")
        source = "def run(src):\n    out = {}\n" + "\n".join(body) + "\n    return out\n"
        namespace = dict(code.names)
        exec(compile(source, f"<projection of {parent_type.name}>", "exec"), namespace)
        run: Callable[[Any], dict[str, Any]] = namespace["run"]
        if parent_type.name in SHARED_TYPES and signature is not None and nested:
            # A flat selection (an outcome's code, status and amount) is written anew: cheaper
            # than looking it up, and it keeps no entry alive for the collector to walk. A
            # nested one is shared, with its JSON.
            plain, run = run, _shared(run, signature, SharedJSON)
            if parent_type.name == "Determination":
                run = _when_asked_again(run, plain)
        return _Plan(run, signature)

    def _asks_what_would_change(self, gql_type: Any, field_details_list: Any) -> bool:
        """Whether a selection of outcomes names whatWouldChange."""
        named = get_named_type(gql_type)
        if not isinstance(named, GraphQLObjectType):  # pragma: no cover - outcomes are objects
            return True
        sub = self.collect_subfields(named, field_details_list).grouped_field_set
        return any(fdl[0].node.name.value == "whatWouldChange" for fdl in sub.values())

    def _completer(self, gql_type: Any, field_details_list: Any) -> Completion:
        if isinstance(gql_type, GraphQLNonNull):
            gql_type = gql_type.of_type
        if isinstance(gql_type, GraphQLList):
            item = self._completer(gql_type.of_type, field_details_list)

            def complete_list(var: str, code: _Code) -> str:
                x = f"x{len(var)}"  # nested lists get their own loop variable
                return f"None if {var} is None else [{item(x, code)} for {x} in {var}]"

            return complete_list
        if isinstance(gql_type, GraphQLScalarType):
            serialize = gql_type.serialize
            plain = _IDENTITY_SCALARS.get(gql_type.name)
            if plain is not None:
                return (lambda var, code: f"{var} if {var} is None or type({var}) is {plain} "
                        f"else {code.ref(serialize)}({var})")
            return lambda var, code: f"None if {var} is None else {code.ref(serialize)}({var})"
        if isinstance(gql_type, GraphQLEnumType):
            names = _EnumNames(gql_type)
            return (lambda var, code: f"None if {var} is None else "
                    f"({code.ref(names.known)}.get({var}) or {code.ref(names)}({var}))")
        if isinstance(gql_type, GraphQLObjectType):
            sub = self.collect_subfields(gql_type, field_details_list).grouped_field_set
            plan = self._plan(gql_type, sub)
            if plan is None:
                object_type = gql_type

                def complete_ordinary(value: Any) -> Any:
                    return self.execute_fields(object_type, value, None, sub, None)

                return (lambda var, code: f"None if {var} is None else "
                        f"{code.ref(complete_ordinary)}({var})")
            run = plan.run
            return lambda var, code: f"None if {var} is None else {code.ref(run)}({var})"
        raise TypeError(f"no projection for {gql_type}")  # pragma: no cover


class _EnumNames:
    """An enum's serialisation, remembered per value (values are few; names never empty)."""

    def __init__(self, gql_type: GraphQLEnumType):
        self.serialize = gql_type.serialize
        self.known: dict[Any, str] = {}

    def __call__(self, value: Any) -> Any:
        name = self.serialize(value)
        if isinstance(value, Hashable) and len(self.known) < 1000:
            self.known[value] = name
        return name


def _shared(run: Callable[[Any], dict[str, Any]], signature: Hashable,
            kind: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    # The signature is a deep tuple: hashed once here, not on every lookup.
    token = _TOKENS.get(signature)
    if token is None:
        token = _TOKENS.put(signature, next(_NEXT_TOKEN))

    def shared(source: Any) -> dict[str, Any]:
        key = (id(source), token)
        hit = _SHARED.get(key)
        if hit is not None and hit[0] is source:
            return hit[1]
        out = kind(run(source))
        _SHARED.put(key, (source, out))
        return out

    return shared


def _when_asked_again(shared: Callable[[Any], dict[str, Any]],
                      plain: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    """A determination's projection is shared only once the determination is asked about again
    (``asked_again``: served from the recent determinations). Most are never asked about again
    (a stream of new households): kept, each would hold its whole answer and that answer's
    JSON (about 130 KB for a 5-member household's full explanation) in the shared cache for
    about a thousand requests, and push out the reasons that other households share. The
    first time, its projection is written and not kept (its reasons' projections are shared
    as ever)."""
    def when_asked_again(source: Any) -> dict[str, Any]:
        if getattr(source, "asked_again", True):
            return shared(source)
        return plain(source)

    return when_asked_again


class SharedJSON(dict[str, Any]):
    """A projection served to many requests: a plain dict to everyone, and to ``encode`` its JSON,
    written the second time it is encoded and copied from then on (most of a full explanation's
    ~120 KB are such projections). The first time it is written in place, as a plain dict, and
    keeps no JSON: many projections (a never-seen household's own reasons) are encoded only
    once, and their JSON, kept for nothing, made a worker's resident size about 140 MiB larger
    for the same CPU (docs/performance.md, issue 13, "The event loop's encoding")."""

    __slots__ = ("_json",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # None until it is first encoded: set here, as reading an unset slot raises, and
        # ``getattr`` with a default paid for that exception in every first encoding
        self._json: orjson.Fragment | None = None


# A shared projection's ``_json`` once it was encoded once (its JSON not written yet).
_ONCE = orjson.Fragment(b"null")


def _plain(value: Any) -> Any:
    # What orjson writes for a subclass of a type it knows, when it may not look inside.
    if value.__class__ is SharedJSON:
        written = value._json
        if written is None:
            value._json = _ONCE
            return dict(value)
        if written is _ONCE:
            value._json = written = orjson.Fragment(encode(dict(value)))
        return written
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__index__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, list):
        return list(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def encode(data: Any) -> bytes:
    """The response as JSON (UTF-8): ``orjson.dumps``, with each shared projection's JSON written
    once and then copied. The same bytes as ``orjson.dumps`` of the plain data."""
    return orjson.dumps(data, default=_plain, option=orjson.OPT_PASSTHROUGH_SUBCLASS)


def _frozen(args: Mapping[str, Any]) -> Hashable:
    return tuple(sorted((k, _freeze(v)) for k, v in args.items()))


def _freeze(value: Any) -> Hashable:
    # A module-level function, not a closure: a recursive closure is a reference cycle, left
    # for the garbage collector on every request.
    if isinstance(value, Enum):
        return value.value  # type: ignore[no-any-return]
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, Mapping):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value  # type: ignore[no-any-return]
