"""Impact previews: the outcome summaries, computed by the batch backend, agree with full
determinations (for every shipped version, and for a draft beside the version it changes);
and the counting."""

from __future__ import annotations

import random
from datetime import date

import pytest

from engine.batch.frames import input_frames
from engine.determine import determine
from engine.impact import (
    Summary,
    Table,
    Tally,
    classify,
    compare,
    frame_impact,
    frame_tables,
    money,
    outcome_tables,
)
from engine.testcases import draft_ref
from policy.catalog import Catalog, VersionRecord, VersionRef
from policy.document import Program, compile_document
from policy.errors import FactsInvalid
from policy.facts import Household, parse_household
from testing.households import AS_OF_DATES, random_household


def expected(hh: Household, as_of: date, program: Program, ref: VersionRef) -> Table:
    """What the impact preview must say: ``engine.determine``'s outcomes, summarised."""
    det = determine(hh, as_of, [(program, ref)])
    return {
        (o.code, o.member_id): Summary(
            o.status.value, o.amount, o.period,
            o.reasons[0].rule_id if o.status.value == "GRANTED" else None)
        for o in det.outcomes()
    }


def generated(rng: random.Random, as_of: date, n: int) -> list[Household]:
    return [parse_household(random_household(rng, as_of, f"hh-{i}"), as_of) for i in range(n)]


def dates_in_force(catalog: Catalog, record: VersionRecord) -> list[date]:
    ref = catalog.ref(record)
    return [d for d in AS_OF_DATES if (ref.effective_from is None or ref.effective_from <= d)
            and (ref.effective_to is None or d <= ref.effective_to)]


def raised(program: Program, version: int, factor: float = 1.1) -> Program:
    """A draft of ``program``: every amount in yuan raised by ``factor`` (rounded)."""
    doc = program.document
    params = {name: p.model_copy(update={"value": float(round(p.value * factor))})
              if p.unit.startswith("yuan") else p for name, p in doc.parameters.items()}
    return compile_document(doc.model_copy(update={"version": version, "parameters": params}))


def records_of(catalog: Catalog, code: str) -> list[Program]:
    """Every version of program ``code``, in the catalogue's order."""
    return [r.program for r in catalog.records if r.program.code == code]


def with_income_line(program: Program, value: int) -> Program:
    """Version 2 of ``program`` with its income line at ``value`` (and nothing else changed)."""
    doc = program.document
    line = doc.parameters["incomeLine"].model_copy(update={"value": value})
    return compile_document(doc.model_copy(update={
        "version": 2, "parameters": {**doc.parameters, "incomeLine": line}}))


@pytest.mark.parametrize("seed", [1, 2])
def test_summaries_agree_with_determinations(catalog: Catalog, seed: int) -> None:
    rng = random.Random(seed)
    for record in catalog.records:
        program = record.program
        ref = draft_ref(program, "PUBLISHED")
        as_of = rng.choice(AS_OF_DATES)
        households = generated(rng, as_of, 150)
        tables = outcome_tables(households, as_of, [program, None])
        for hh, (table, empty) in zip(households, tables, strict=True):
            assert empty == {}
            want = expected(hh, as_of, program, ref)
            assert table == want, (program.code, program.document.version, hh.id)
            assert list(table) == list(want)  # the engine's order: code, then member


@pytest.mark.parametrize("seed", [3, 4])
def test_a_draft_beside_the_version_in_force_agrees_with_determinations(
        catalog: Catalog, seed: int) -> None:
    # As the impact preview runs it: the version in force with its catalog reference, and a
    # draft of the same program (a new version number, or the same document under another id)
    # with a reference made for it.
    rng = random.Random(seed)
    for record in catalog.records:
        baseline = record.program
        baseline_ref = catalog.ref(record)
        as_of = rng.choice(dates_in_force(catalog, record))
        households = generated(rng, as_of, 120)
        doc = baseline.document
        drafts = [raised(baseline, doc.version + 1), baseline]
        for draft in drafts:
            draft_version = VersionRef(f"draft-{seed}", doc.program, doc.version + 1, "DRAFT",
                                       None, None, draft.content_hash)
            tables = outcome_tables(households, as_of, [baseline, draft],
                                    [baseline_ref, draft_version])
            changed = 0
            for hh, (before, after) in zip(households, tables, strict=True):
                assert before == expected(hh, as_of, baseline, baseline_ref), hh.id
                assert after == expected(hh, as_of, draft, draft_version), hh.id
                changed += bool(compare(before, after))
            if draft is baseline:
                assert changed == 0
        if any(p.unit.startswith("yuan") for p in doc.parameters.values()):
            assert any(compare(b, a) for b, a in outcome_tables(
                households, as_of, [baseline, drafts[0]]))


def test_amounts_below_the_cent_never_reach_the_vectorised_path(catalog: Catalog) -> None:
    # The batch backend hands households with amounts between 0 and 1e-6 to the interactive
    # engine. Money is given to the cent, so validation refuses them first: impact previews
    # and screening get the same errors as one evaluation, and the rest is evaluated as usual.
    rng = random.Random(5)
    as_of = AS_OF_DATES[5]
    data = [random_household(rng, as_of, f"hh-{i}") for i in range(6)]
    data[1]["members"][0]["medicalOutOfPocket"] = 3.5e-7
    data[2]["annualNetIncome"] = 5e-7
    for d, field in ((data[1], "members[0].medicalOutOfPocket"), (data[2], "annualNetIncome")):
        with pytest.raises(FactsInvalid) as info:
            parse_household(d, as_of)
        assert [(e.field, e.code) for e in info.value.errors] == [(field, "TOO_MANY_DECIMALS")]
    households = [parse_household(d, as_of) for i, d in enumerate(data) if i not in (1, 2)]
    versions = catalog.in_force(as_of)
    tables = outcome_tables(households, as_of, [p for p, _ in versions], [r for _, r in versions])
    for hh, row in zip(households, tables, strict=True):
        for (program, ref), table in zip(versions, row, strict=True):
            assert table == expected(hh, as_of, program, ref), hh.id


def test_versions_evaluated_together_each_give_their_own_answer(catalog: Catalog) -> None:
    # Education v1 to v4 differ in amounts; monitoring with a higher income line differs in
    # conditions that use it (through definitions) and not in the others.
    rng = random.Random(3)
    as_of = AS_OF_DATES[4]
    households = generated(rng, as_of, 200)
    monitoring = records_of(catalog, "monitoring")[0]
    higher = with_income_line(monitoring, 6600)
    education = records_of(catalog, "education")
    for programs in ([monitoring, higher], education):
        together = outcome_tables(households, as_of, programs)
        for i, program in enumerate(programs):
            alone = outcome_tables(households, as_of, [program])
            assert [t[i] for t in together] == [t[0] for t in alone]
    changed = sum(t[0] != t[1] for t in outcome_tables(households, as_of, [monitoring, higher]))
    assert changed > 0


def test_frame_tables_take_the_batch_input_frames(catalog: Catalog) -> None:
    rng = random.Random(6)
    as_of = AS_OF_DATES[3]
    data = [random_household(rng, as_of, f"hh-{i}") for i in range(30)]
    # Ids need not be unique: households are told apart by their row.
    twin = {**data[0], "dibao": True, "members": [
        {**data[0]["members"][0], "disabilityGrade": 1, "disabilityKind": "PHYSICAL"},
        *data[0]["members"][1:]]}
    households = [parse_household(d, as_of) for d in [*data, twin]]
    [(program, ref)] = catalog.in_force(as_of, ["disability"])
    hh, members = input_frames(households)
    result = frame_tables(hh, members, as_of, [None, (program, ref)])
    assert result.errors == {}
    assert result.tables == outcome_tables(households, as_of, [None, program], [None, ref])
    for household, tables in zip(households, result.tables, strict=True):
        assert tables == ({}, expected(household, as_of, program, ref))
    assert result.tables[0] != result.tables[-1]
    empty = frame_tables(hh.clear(), members.clear(), as_of, [(program, ref)])
    assert (empty.tables, empty.errors) == ([], {})
    assert outcome_tables([], as_of, [program]) == []


def test_frame_impact_counts_every_household_as_its_tables_compare(
        catalog: Catalog) -> None:
    # Compared in columns, row by row when both versions list the same outcomes (a parameter
    # changed) and by a join when they do not (another program, or none in force): every
    # household's kind of change and money are those its two tables give, and the tables
    # made for any household are frame_tables' own.
    rng = random.Random(8)
    as_of = AS_OF_DATES[4]
    households = generated(rng, as_of, 300)
    monitoring = records_of(catalog, "monitoring")[0]
    disability = records_of(catalog, "disability")[0]
    higher = with_income_line(monitoring, 6600)
    education = records_of(catalog, "education")
    hh, members = input_frames(households)
    pairs = [(monitoring, higher), (higher, monitoring), (monitoring, monitoring),
             (education[0], education[-1]), (monitoring, disability), (None, disability),
             (disability, None), (None, None)]
    kinds_seen: set[str | None] = set()
    for before, after in pairs:
        versions = [None if p is None else (p, draft_ref(p)) for p in (before, after)]
        whole = frame_tables(hh, members, as_of, versions)
        result = frame_impact(hh, members, as_of, *versions)
        assert result.errors == whole.errors == {}
        assert result.tables == {}  # no NaN, huge or repeated outcome here
        assert result.counted["h"].to_list() == list(range(len(households)))
        made = result.tables_of(range(len(households)))
        for h, kind, annual_b, once_b, annual_a, once_a in result.counted.iter_rows():
            tables = whole.tables[h]
            assert tables is not None
            assert made[h] == tables
            assert kind == classify(compare(*tables))
            assert (annual_b, once_b) == money(tables[0])
            assert (annual_a, once_a) == money(tables[1])
            kinds_seen.add(kind)
        if before is not after:
            assert result.counted["kind"].is_not_null().any()
        else:
            assert result.counted["kind"].is_null().all()
    assert kinds_seen == {None, "GAINED", "LOST", "CHANGED"}


def test_frame_impact_leaves_odd_outcomes_to_the_tables(
        catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    # An amount the columns cannot count exactly (NaN, or too large for fen in Int64), or an
    # outcome listed twice, sends its household to Python's comparison of its tables.
    import polars as pl

    from engine import impact

    b = pl.DataFrame({"household_id": ["0", "1", "1", "2", "3"], "code": ["a"] * 5,
                      "member_id": [None] * 5, "status": ["GRANTED"] * 5,
                      "amount": [float("nan"), 1.0, 2.0, 3e13, 5.0],
                      "period": ["YEAR"] * 5, "rule_id": ["r"] * 5},
                     schema_overrides={"member_id": pl.String})
    a = b.with_columns(amount=pl.Series([1.0, 1.0, 2.0, 3e13, 6.0]))
    # One version's texts dictionary-encoded (as the evaluator gives them), the other's not.
    tables = iter([b.to_arrow(), a.with_columns(pl.col(pl.String).cast(pl.Categorical))
                   .to_arrow()])
    monitoring = records_of(catalog, "monitoring")[0]
    ref = draft_ref(monitoring)
    households = generated(random.Random(3), AS_OF_DATES[4], 4)
    hh, members = input_frames(households)
    monkeypatch.setattr(impact, "_outcomes", lambda *args: (next(tables), ()))
    result = frame_impact(hh, members, AS_OF_DATES[4], (monitoring, ref), (monitoring, ref))
    assert sorted(result.tables) == [0, 1, 2]
    assert result.counted.rows() == [(3, "CHANGED", 500, 0, 600, 0)]
    assert classify(compare(*result.tables[0])) == "CHANGED"
    assert result.tables[1][0] == {("a", None): Summary("GRANTED", 2.0, "YEAR", "r")}


def s(status: str = "GRANTED", amount: float | None = None, period: str | None = None,
      rule: str | None = "r1") -> Summary:
    return Summary(status, amount, period, rule if status == "GRANTED" else None)


def test_changes_are_classified() -> None:
    none = s("NOT_GRANTED")
    before = {("a", None): s(), ("b", "m1"): s(amount=100, period="YEAR"),
              ("c", "m1"): s(rule="tier1"), ("d", None): none, ("e", None): s()}
    after = {("a", None): s(), ("b", "m1"): s(amount=150, period="YEAR"),
             ("c", "m1"): s(rule="tier2"), ("d", None): s("UNDETERMINED"),
             ("e", None): none, ("f", None): s()}
    kinds = {(c.code, c.member_id): c.kind for c in compare(before, after)}
    assert kinds == {("b", "m1"): "AMOUNT", ("c", "m1"): "TIER", ("d", None): "STATUS",
                     ("e", None): "LOST", ("f", None): "GAINED"}
    assert classify(compare(before, after)) == "CHANGED"
    assert classify(compare({}, {("f", None): s()})) == "GAINED"
    assert classify(compare({("f", None): s()}, {("f", None): none})) == "LOST"
    assert classify(compare(before, before)) is None


def test_money_counts_a_year_and_keeps_one_off_amounts_apart() -> None:
    table = {("a", "m1"): s(amount=100, period="MONTH"), ("b", "m1"): s(amount=500,
                                                                         period="YEAR"),
             ("c", None): s(amount=3000, period="ONCE"),
             ("d", None): Summary("NOT_GRANTED")}
    assert money(table) == (170000, 300000)  # fen
    # Exact: cent amounts summed in fen, not in doubles (0.1 + 0.2 is 0.30000000000000004).
    cents = {("a", f"m{i}"): s(amount=amount, period="YEAR")
             for i, amount in enumerate([0.1, 0.2, 25000.01, 0.07])}
    assert money(cents) == (2500038, 0)


def test_tally_by_region_keeps_the_first_changes() -> None:
    tally = Tally(keep=1)
    gain = {("a", None): s(amount=10, period="MONTH")}
    tally.add("h1", "r1", {}, gain)
    tally.add("h2", "r1", gain, {})
    tally.add("h3", "r2", gain, gain)
    assert (tally.households, tally.gained, tally.lost, tally.changed, tally.unchanged) == (
        3, 1, 1, 0, 1)
    assert (tally.annual_before, tally.annual_after) == (240, 240)
    assert [e.household_id for e in tally.examples] == ["h1"]
    r1 = tally.regions["r1"]
    assert (r1.households, r1.gained, r1.lost, r1.annual_before, r1.annual_after) == (
        2, 1, 1, 120, 120)
