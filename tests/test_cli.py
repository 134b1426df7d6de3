"""The command line, run as a user runs it: a real process, exit codes, stdout and stderr."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

from cli.summary import explain, explained, is_condition, summary, tree_lines
from engine.results import Determination, Status, at_depth
from engine.tree import walk
from services.rulesets import FIXTURES

HH = FIXTURES / "households" / "hh-001.json"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def test_evaluate_prints_the_determination_as_json() -> None:
    done = run("evaluate", str(HH), "--as-of", "2024-06-01", "--format", "json")
    assert done.returncode == 0, done.stderr
    det = json.loads(done.stdout)
    assert det["asOf"] == "2024-06-01"
    assert {p["program"] for p in det["programs"]} == {
        "monitoring", "medical_relief", "education", "disability", "temporary_assistance",
        "employment", "housing"}
    granted = [(o["code"], o["memberId"], o["amount"]) for o in det["outcomes"]
               if o["status"] == "GRANTED"]
    assert granted == [("education.compulsory_living_subsidy", "m2", 1500.0)]
    first = det["outcomes"][0]
    assert set(first) == {"code", "title", "memberId", "status", "amount", "amountIsSample",
                          "period", "terms", "reasons", "missingFacts", "whatWouldChange"}
    assert set(first["reasons"][0]) == {"ruleId", "text", "citation", "conditions", "condition"}
    assert set(first["reasons"][0]["condition"]) == {
        "expression", "kind", "result", "actual", "expected", "decided", "memberIds",
        "children"}
    changes = [c for o in det["outcomes"] for c in o["whatWouldChange"]]
    assert changes and set(changes[0]) == {"fact", "operator", "value", "current", "text"}


def test_evaluate_prints_a_table_per_program_by_default() -> None:
    done = run("evaluate", str(HH), "--as-of", "2024-06-01")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "家庭 hh-001，评估日期 2024-06-01；纳入防止返贫监测：否"
    assert "【学生资助】education v2" in lines
    row = next(x for x in lines if x.startswith("义务教育家庭经济困难学生生活补助") and " m2 " in x)
    assert row.split()[1:4] == ["m2", "符合", "1,500.00"]
    assert any(x.startswith("符合 1 项，不符合") for x in lines)
    assert len(lines) < 150  # a summary, not the ~10,000 lines of JSON


def test_a_deciding_reason_reads_as_a_caseworker_says_it() -> None:
    """A member out of school fails "is in school" because their stage is 不在学: said once,
    not as "就学阶段不为不在学（实为 不在学）"; a ratio as a percentage, an inexact quotient
    about its value."""
    hh4 = FIXTURES / "households" / "hh-004.json"
    zh = run("evaluate", str(hh4), "--as-of", "2024-06-01").stdout.splitlines()
    row = next(x for x in zh if x.startswith("普通高中国家助学金") and " m1 " in x)
    assert row.split()[-1] == "就学阶段：不在学"
    row = next(x for x in zh if x.startswith("一般临时救助"))
    assert row.split(None, 3)[-1] == "收入下降比例不低于 50%（实为 约 8.57%）"
    en = run("evaluate", str(hh4), "--as-of", "2024-06-01", "--lang", "EN").stdout
    assert "School stage: Not in school" in en
    assert "Income drop ratio is at least 50% (is about 8.57%)" in en


def test_a_granted_item_without_an_amount_shows_its_terms_under_its_row() -> None:
    """A medical relief tier has no amount of its own: its figures are its terms, shown on the
    line under its row (sample ones marked, and the mark explained)."""
    hh3 = FIXTURES / "households" / "hh-003.json"
    for lang, relief, note in (
            ("ZH", "预计救助金额：6,800.00 元*", "* 示例值：该金额或条款"),
            ("EN", "Estimated relief: 6,800.00 yuan*", "* Sample figure: the amount or term")):
        done = run("evaluate", str(hh3), "--as-of", "2024-06-01", "--program", "medical_relief",
                   "--lang", lang)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        granted = ("  符合  ", "  GRANTED  ")
        row = next(i for i, x in enumerate(lines) if " m3 " in x and any(g in x for g in granted))
        assert lines[row + 1].startswith("    ") and lines[row + 1].endswith(relief), lines[row + 1]
        assert lines[-1].startswith(note)
        # Items not granted have no such line.
        assert sum(1 for x in lines if x.startswith("    ")) == 4


def test_a_household_is_not_said_unflagged_when_monitoring_was_not_evaluated() -> None:
    """hh-003 is flagged by monitoring; evaluated under temporary assistance alone, the header
    says the flag was not evaluated rather than 否."""
    hh3 = FIXTURES / "households" / "hh-003.json"
    only = run("evaluate", str(hh3), "--as-of", "2024-06-01", "--program",
               "temporary_assistance").stdout.splitlines()
    assert only[0] == ("家庭 hh-003，评估日期 2024-06-01；纳入防止返贫监测：未评估（所选项目中没有"
                       "监测认定）")
    with_monitoring = run("evaluate", str(hh3), "--as-of", "2024-06-01", "--program",
                          "monitoring", "--lang", "EN").stdout.splitlines()
    assert with_monitoring[0] == "Household hh-003, as of 2024-06-01; flagged for monitoring: yes"


def test_evaluate_in_english_filtered_by_status() -> None:
    done = run("evaluate", str(HH), "--as-of", "2024-06-01", "--lang", "EN", "--status",
               "GRANTED")
    assert done.returncode == 0, done.stderr
    rows = [x for x in done.stdout.splitlines() if " GRANTED " in x]
    assert len(rows) == 1 and rows[0].startswith("Living subsidy for compulsory-education")
    assert "NOT GRANTED  " not in done.stdout
    assert run("evaluate", str(HH), "--as-of", "2024-06-01", "--status", "MAYBE").returncode == 2


def test_explain_one_item_with_what_would_change() -> None:
    done = run("evaluate", str(HH), "--as-of", "2024-06-01", "--explain",
               "education.senior_grant", "--member", "m1", "--lang", "EN")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("National grant for senior-high students (education.senior_grant) "
                          "member m1: NOT GRANTED")
    # The tree in words: facts and enumeration values by their labels, actual values beside.
    assert "* ✗ A student in economic hardship and school stage is Senior secondary school" in out
    # A definition by the words its version gives it, not by its name.
    assert "eligibleStudent" not in out
    assert "*         ✗ School stage is not Not in school  [is Not in school]" in out
    assert "granted if member m1 schoolStage == SENIOR (now NONE)" in out
    unknown = run("evaluate", str(HH), "--as-of", "2024-06-01", "--explain", "education.nope")
    assert unknown.returncode == 2 and "[UNKNOWN_ITEM]" in unknown.stderr


def test_an_item_superseded_by_a_higher_priority_one_names_it_by_its_title() -> None:
    """Member m3 of hh-003 is destitute (tier 1), so the dibao tier is refused for that: the
    table and the tree name tier 1 by its title, not by its code or its group's."""
    hh = FIXTURES / "households" / "hh-003.json"
    title = "医疗救助第一档（特困人员、孤儿）"
    table = run("evaluate", str(hh), "--as-of", "2024-06-01")
    assert table.returncode == 0, table.stderr
    (row,) = [x for x in table.stdout.splitlines()
              if x.startswith("医疗救助第二档") and " m3 " in x]
    assert f"已适用更高优先级的项目：{title}" in row
    tree = run("evaluate", str(hh), "--as-of", "2024-06-01", "--explain", "medical.tier2",
               "--member", "m3")
    assert tree.returncode == 0, tree.stderr
    assert f"*   ✗ 同组更高优先级的项目（{title}）不适用" in tree.stdout
    assert "medical.tier1" not in tree.stdout


def test_explain_refuses_a_member_without_the_item_and_options_without_explain() -> None:
    """A member the item has no outcome for, or options that only --explain reads, are errors
    (exit 2, Chinese first), not an empty page; the member's id is not repeated."""
    base = ("evaluate", str(HH), "--as-of", "2024-06-01")
    stranger = run(*base, "--explain", "education.senior_grant", "--member", "m77")
    assert stranger.returncode == 2 and stranger.stdout == ""
    lines = stranger.stderr.splitlines()
    assert lines[0] == "错误：该项没有所指成员的结果（UNKNOWN_MEMBER）"
    assert lines[1].endswith("check the member's id in the household file [UNKNOWN_MEMBER]")
    assert "m77" not in stranger.stderr
    household_item = run(*base, "--explain", "housing.repair", "--member", "m1")
    assert household_item.returncode == 2
    assert "the item is about the household: leave --member out" in household_item.stderr
    for extra in (("--member", "m1"), ("--depth", "2"), ("--explain", "housing.repair",
                                                         "--format", "json")):
        done = run(*base, *extra)
        assert done.returncode == 2 and done.stdout == "", extra
        assert done.stderr.startswith("错误：命令参数有误（BAD_ARGUMENT）"), extra


def _determination(hh: dict[str, object]) -> Determination:
    from engine.determine import determine
    from services.rulesets import load_catalog

    return determine(hh, date(2024, 6, 1), load_catalog().in_force(date(2024, 6, 1)))


def test_explain_marks_sample_terms_and_says_what_the_mark_means() -> None:
    det = _determination({"id": "x", "members": [{"id": "m1", "birthDate": "1950-01-01",
                                                   "tekun": True}]})
    notes = (("ZH", "（标 * 的金额或条款为示例值", "  年度救助限额（annualCap）：50,000.00 元*"),
             ("EN", "(An amount or term marked *", "  Annual cap (annualCap): 50,000.00 yuan*"))
    for lang, note, cap in notes:
        out = explain(det, "medical.tier1", lang, 1, "m1").splitlines()
        assert out[0].endswith(("：符合", ": GRANTED")), out[0]  # no amount, no "—"
        assert cap in out
        assert out[-1].startswith(note), out[-1]
    # No sample figure shown, no note.
    assert "示例" not in explain(det, "housing.repair", "ZH", 1)


def test_explain_names_terms_and_units_by_their_labels() -> None:
    det = _determination({"id": "x", "dibao": True, "members": [
        {"id": "m1", "birthDate": "1970-01-01", "medicalOutOfPocket": 3200}]})
    zh = explain(det, "medical.tier2", "ZH", 1, "m1").splitlines()
    assert zh[1:6] == ["  参保资助（premiumSubsidy）：150.00 元",
                       "  起付线（deductible）：0.00 元",
                       "  救助比例（ratio）：75%*",
                       "  年度救助限额（annualCap）：30,000.00 元*",
                       "  预计救助金额（estimatedRelief）：2,400.00 元*"], zh
    en = explain(det, "medical.tier2", "EN", 1, "m1").splitlines()
    assert en[1:6] == ["  Premium subsidy (premiumSubsidy): 150.00 yuan",
                       "  Deductible (deductible): 0.00 yuan",
                       "  Relief ratio (ratio): 75%*",
                       "  Annual cap (annualCap): 30,000.00 yuan*",
                       "  Estimated relief (estimatedRelief): 2,400.00 yuan*"], en


def test_a_term_without_a_label_is_shown_by_its_key_and_unit() -> None:
    from cli.summary import _term_name
    from policy.term_catalogue import TERMS

    assert _term_name("notInTheCatalogue", "ZH") == "notInTheCatalogue"
    assert _term_name("notInTheCatalogue", "EN") == "notInTheCatalogue"
    assert TERMS.value_text(12, "visits", "ZH") == "12 visits"


def test_evaluate_json_gives_the_terms_labels_in_the_chosen_language() -> None:
    path = FIXTURES / "households" / "hh-003.json"
    for lang, label, unit in (("ZH", "起付线", "元"), ("EN", "Deductible", "yuan")):
        done = run("evaluate", str(path), "--as-of", "2024-06-01", "--format", "json",
                   "--program", "medical_relief", "--lang", lang)
        assert done.returncode == 0, done.stderr
        terms = [t for o in json.loads(done.stdout)["outcomes"] for t in o["terms"]]
        assert terms, "hh-003 has granted medical tiers"
        deductible = next(t for t in terms if t["key"] == "deductible")
        assert (deductible["label"], deductible["unitLabel"]) == (label, unit)
        assert {t["label"] for t in terms} == {
            {"ZH": "参保资助", "EN": "Premium subsidy"}[lang],
            {"ZH": "起付线", "EN": "Deductible"}[lang],
            {"ZH": "救助比例", "EN": "Relief ratio"}[lang],
            {"ZH": "年度救助限额", "EN": "Annual cap"}[lang],
            {"ZH": "预计救助金额", "EN": "Estimated relief"}[lang]}


def test_an_unknown_definition_reads_as_an_unknown_condition() -> None:
    """``suddenHardship`` left unknown by last year's income is a condition that is unknown
    (``? Household in sudden severe hardship``: the definition has no description, and the
    rule whose whole condition it is gives it its title), not a value that is missing
    (``= suddenHardship: ?``)."""
    det = _determination({"id": "x", "annualNetIncome": 14000,
                          "members": [{"id": "m1", "birthDate": "1980-01-01"},
                                      {"id": "m2", "birthDate": "1982-01-01"}]})
    (outcome,) = explained(det, "monitoring.sudden_hardship")
    root = at_depth(outcome.reasons[0].condition, 0)
    assert (root.expression, root.result) == ("suddenHardship", None)
    lines = tree_lines(root, "EN")
    assert lines[0] == "* ? Household in sudden severe hardship"
    # A value that is unknown stays a value (the fact by its label).
    assert [x.split("= ")[1] for x in lines if "Income drop ratio:" in x] == [
        "Income drop ratio: ?"]
    ratio = next(n for n in walk(root) if n.expression == "incomeDropRatio")
    assert is_condition(root) and not is_condition(ratio)


def test_an_undetermined_item_names_the_missing_fact_by_its_label() -> None:
    det = _determination({"id": "x", "annualNetIncome": 14000,
                          "members": [{"id": "m1", "birthDate": "1980-01-01"},
                                      {"id": "m2", "birthDate": "1982-01-01"}]})
    zh = [x for x in summary(det, {}, "ZH", [Status.UNDETERMINED]).splitlines()
          if x.startswith("突发严重困难户")]
    en = [x for x in summary(det, {}, "EN", [Status.UNDETERMINED]).splitlines()
          if x.startswith("Household in sudden severe hardship")]
    assert zh[0].endswith("待定        缺少：上年度家庭纯收入（previousAnnualNetIncome）"), zh
    assert en[0].endswith(
        "UNDETERMINED          missing: Previous annual net income (previousAnnualNetIncome)"), en


def test_explain_keeps_to_the_chosen_statuses() -> None:
    det = _determination({"id": "x", "povertyAlleviated": True,
                          "members": [{"id": "m1", "birthDate": "1980-01-01"},
                                      {"id": "m2", "birthDate": "2008-01-01",
                                       "schoolStage": "SENIOR"}]})
    heads = [x for x in explain(det, "education.senior_grant", "EN", 1, None,
                                [Status.GRANTED]).splitlines() if "(education.senior_grant)" in x]
    assert heads == ["National grant for senior-high students (education.senior_grant) member "
                     "m2: GRANTED, 2,000.00 yuan/year"]
    both = explain(det, "education.senior_grant", "EN", 1).splitlines()
    assert sum("(education.senior_grant)" in x for x in both) == 2
    assert explain(det, "housing.repair", "ZH", 1, None, [Status.GRANTED]) == (
        "（没有所选状态的项目）\n")


def test_a_status_filter_that_leaves_a_program_empty_says_so() -> None:
    det = _determination({"id": "x", "members": [{"id": "m1", "birthDate": "1980-01-01"}]})
    zh = summary(det, {}, "ZH", [Status.UNDETERMINED]).splitlines()
    en = summary(det, {}, "EN", [Status.UNDETERMINED]).splitlines()
    assert zh[zh.index("【housing】housing v1") + 1] == "（没有所选状态的项目）"
    assert en[en.index("【housing】housing v1") + 1] == "(no items with the chosen status)"


def test_a_reader_that_stops_early_ends_it_quietly() -> None:
    with subprocess.Popen([sys.executable, "-m", "cli.main", "evaluate", str(HH), "--as-of",
                           "2024-06-01", "--format", "json"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().strip() == b"{"
        proc.stdout.close()  # as `| head -1` does
        err = proc.stderr.read()
        assert proc.wait(timeout=120) == 0
    assert err == b"", err


def test_evaluate_one_program_in_english() -> None:
    done = run("evaluate", str(HH), "--as-of", "2024-06-01", "--program", "education",
               "--lang", "EN", "--format", "json")
    det = json.loads(done.stdout)
    assert [p["program"] for p in det["programs"]] == ["education"]
    assert det["outcomes"][0]["title"].isascii()


def test_invalid_household_exits_2_with_field_paths(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"id": "x", "members": [{"id": "a", "birthDate": "2030-01-01"}],
                               "annualNetIncome": -1}))
    done = run("evaluate", str(bad), "--as-of", "2024-06-01")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "annualNetIncome" in done.stderr and "[NEGATIVE_AMOUNT]" in done.stderr
    assert "members[0].birthDate" in done.stderr and "[BIRTH_AFTER_AS_OF]" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_value_of_the_wrong_type_is_said_in_chinese_first(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"id": "x", "annualNetIncome": "abc",
                               "members": [{"id": "a", "birthDate": "1970-13-01"}]}))
    done = run("evaluate", str(bad), "--as-of", "2024-06-01")
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert ("  annualNetIncome: 类型错误：应为数字，实为 文本 'abc' / Input should be a valid "
            "number; got str 'abc' [WRONG_TYPE]") in lines, lines
    assert any(line.startswith("  members[0].birthDate: 类型错误：应为日期（年-月-日），实为 文本 "
                               "'1970-13-01' / Input should be a valid date") for line in lines)


def test_every_problem_of_a_household_is_reported_at_once(tmp_path: Path) -> None:
    """Structural problems (no id, an unknown key, a value outside a closed set) do not hide
    the others (negative money, a birth date after asOf, a grade out of range, money below the
    cent, contradictory facts)."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({
        "colour": "red", "housingSafetyGrade": "Z", "annualNetIncome": -1,
        "accidentLoss": 10.001, "dibao": True, "dibaoMarginal": True,
        "monitoredSince": "2023-01-01",
        "members": [{"id": "a", "birthDate": "2030-01-01"},
                    {"id": "b", "birthDate": "1980-01-01", "disabilityGrade": 0,
                     "disabilityKind": "VISUAL"}]}))
    done = run("evaluate", str(bad), "--as-of", "2024-06-01", "--format", "json")
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    # Chinese first: the header's Chinese line, then its English, then a line per problem.
    assert lines[:2] == ["错误：家庭事实无效（INVALID_FACTS）",
                         f"error: {bad}: invalid household facts [INVALID_FACTS]"]
    assert all(re.search(r"^  \S+: [\u4e00-\u9fff].* / \S", x) for x in lines[2:]), lines
    found = [(line.split(":")[0].strip(), line.rsplit("[", 1)[1].rstrip("]"))
             for line in lines[2:]]
    assert found == [
        ("accidentLoss", "TOO_MANY_DECIMALS"), ("annualNetIncome", "NEGATIVE_AMOUNT"),
        ("colour", "UNKNOWN_FIELD"), ("dibaoMarginal", "CONTRADICTORY_FACTS"),
        ("housingSafetyGrade", "INVALID_VALUE"), ("id", "REQUIRED"),
        ("members[0].birthDate", "BIRTH_AFTER_AS_OF"),
        ("members[1].disabilityGrade", "DISABILITY_GRADE_RANGE"),
        ("monitoredSince", "CONTRADICTORY_FACTS"),
    ]
    assert "Traceback" not in done.stderr


def test_bad_json_unknown_program_and_bad_date_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert "[INVALID_JSON]" in run("evaluate", str(broken), "--as-of", "2024-06-01").stderr
    done = run("evaluate", str(HH), "--as-of", "2024-06-01", "--program", "roads")
    assert done.returncode == 2 and "known programs: disability" in done.stderr
    done = run("evaluate", str(HH), "--as-of", "June 1st")
    assert done.returncode == 2 and "expected a date" in done.stderr


def test_validate_reports_positions(tmp_path: Path) -> None:
    ok = run("validate", str(FIXTURES / "rulesets" / "monitoring" / "v1.yaml"))
    assert ok.returncode == 0 and "10/10 test cases pass" in ok.stdout
    text = (FIXTURES / "rulesets" / "monitoring" / "v1.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("condition: povertyAlleviated and lowIncome",
                                   "condition: povertyAlleviated and lowIncom < 3"))
    done = run("validate", str(broken))
    assert done.returncode == 2
    assert "rules[0].condition" in done.stderr
    assert "[UNKNOWN_NAME]" in done.stderr and "column 23" in done.stderr


def test_validate_reports_every_problem_of_a_document_at_once(tmp_path: Path) -> None:
    # A rule without a citation does not hide a condition error; a misspelt name used by two
    # rules is reported once.
    import yaml

    data = yaml.safe_load((FIXTURES / "rulesets" / "monitoring" / "v1.yaml").read_text(
        encoding="utf-8"))
    del data["rules"][0]["citation"]
    data["rules"][1]["condition"] = "povertyAlleviatd and perCapitaNetIncome < incomeLine"
    data["rules"][2]["condition"] = "not povertyAlleviatd"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    done = run("validate", str(broken))
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines[:2] == ["错误：规则集文档无效（INVALID_DOCUMENT）",
                         f"error: {broken}: invalid rule-set document [INVALID_DOCUMENT]"]
    assert [(x.split(":")[0].strip(), x.rsplit("[", 1)[1].rstrip("]")) for x in lines[2:]] == [
        ("rules[0].citation", "REQUIRED"), ("rules[1].condition", "UNKNOWN_NAME")]
    assert lines[3].startswith("  rules[1].condition: 未知名称 / unknown fact, parameter")
    assert "(also used in rules[2].condition)" in lines[3]
    # diff says the same of a document it cannot read, in the same order.
    other = run("diff", str(broken), str(FIXTURES / "rulesets" / "monitoring" / "v1.yaml"))
    assert other.returncode == 2
    assert other.stderr.splitlines()[:3] == lines[:3]


def test_validate_fails_on_a_failing_test_case(tmp_path: Path) -> None:
    text = (FIXTURES / "rulesets" / "monitoring" / "v1.yaml").read_text(encoding="utf-8")
    changed = tmp_path / "changed.yaml"
    changed.write_text(text.replace("    value: 6000\n", "    value: 4000\n", 1))
    done = run("validate", str(changed))
    assert done.returncode == 1
    assert "FAIL" in done.stdout
