// The household facts the form asks for: every input fact of the fact catalogue
// (fixtures/facts.yaml), which the service serves as ./catalogue.js: name, kind (text, bool,
// money, date, select), Chinese and English labels, default, optional (left out: unknown), the
// closed set a select draws its values from. A fact the catalogue adds is asked for here too,
// and a saved household opened and saved again keeps every fact it has.

import { FACTS } from "./catalogue.js";
import { currentLang, label, paren, t } from "./i18n.js";
import { cents, yuan } from "./money.js";

export const HOUSEHOLD_FIELDS = FACTS.household;
export const MEMBER_FIELDS = FACTS.member;

function fieldOf(path) {
  const name = String(path).split(".").pop();
  return [...HOUSEHOLD_FIELDS, ...MEMBER_FIELDS].find((f) => f.name === name);
}

/** A fact by its label in the catalogue, with the path a household file names it by:
 * 上年度家庭纯收入（previousAnnualNetIncome）, 残疾等级（members[1].disabilityGrade）. */
export function factName(path) {
  const field = fieldOf(path);
  if (!field) return String(path);
  return `${currentLang() === "zh" ? field.zh : field.en}${paren(path)}`;
}

/** A value of a fact (JSON text, as the API gives suggested facts) in words: a closed set's
 * value by its label, a flag as 是/否, an amount with its unit. */
export function factValue(path, json) {
  const field = fieldOf(path);
  let value;
  try {
    value = JSON.parse(json);
  } catch (exc) {
    return String(json);
  }
  if (typeof value === "boolean") return t(value ? "yes" : "no");
  if (field && field.kind === "select") return label(field.set, value);
  if (field && field.kind === "money") return `${yuan(cents(value))} ${t("yuan")}`;
  return String(value);
}

/** A blank member with the contract's defaults. */
export function blankMember(index) {
  const m = { id: `m${index + 1}` };
  for (const f of MEMBER_FIELDS) {
    if (f.name === "id") continue;
    m[f.name] = f.default !== undefined ? f.default : f.kind === "bool" ? false : "";
  }
  if (index === 0) m.relation = "HEAD";
  return m;
}

/** A blank household with the contract's defaults. */
export function blankHousehold(regionCode) {
  const hh = { members: [blankMember(0)] };
  for (const f of HOUSEHOLD_FIELDS) {
    hh[f.name] = f.default !== undefined ? f.default : f.kind === "bool" ? false : "";
  }
  hh.id = "";
  hh.regionCode = regionCode || "";
  return hh;
}

/** Form state from Household JSON (e.g. a saved household's facts). */
export function fromJson(json) {
  const hh = blankHousehold(json.regionCode);
  for (const f of HOUSEHOLD_FIELDS) {
    if (json[f.name] !== undefined && json[f.name] !== null) hh[f.name] = json[f.name];
  }
  hh.members = (json.members || []).map((m, i) => {
    const out = blankMember(i);
    for (const f of MEMBER_FIELDS) {
      if (m[f.name] !== undefined && m[f.name] !== null) out[f.name] = m[f.name];
    }
    return out;
  });
  return hh;
}

function value(f, raw) {
  if (f.kind === "bool") return Boolean(raw);
  if (raw === "" || raw === null || raw === undefined) return undefined;
  if (f.kind === "money") return Number(raw);
  if (f.number) return Number(raw);
  return raw;
}

/** Household JSON for the API: empty optional fields are left out (unknown), as the contract says. */
export function toJson(hh) {
  const out = {};
  for (const f of HOUSEHOLD_FIELDS) {
    const v = value(f, hh[f.name]);
    if (v !== undefined) out[f.name] = v;
  }
  out.members = hh.members.map((m) => {
    const o = {};
    for (const f of MEMBER_FIELDS) {
      const v = value(f, m[f.name]);
      if (v !== undefined) o[f.name] = v;
    }
    return o;
  });
  return out;
}

/** Checks as the user types: {path: [code, message]}; the API checks again on evaluate. */
export function checkLocally(hh, asOf) {
  const problems = {};
  const money = (path, raw) => {
    if (raw === "" || raw === undefined || raw === null) return;
    const n = Number(raw);
    if (!Number.isFinite(n)) problems[path] = ["WRONG_TYPE", ""];
    else if (n < 0) problems[path] = ["NEGATIVE_AMOUNT", ""];
    else if (!/^\d+(\.\d{1,2})?$/.test(String(raw).trim())) {
      problems[path] = ["TOO_MANY_DECIMALS", ""];
    }
  };
  if (!String(hh.id || "").trim()) problems.id = ["REQUIRED", ""];
  for (const f of HOUSEHOLD_FIELDS) if (f.kind === "money") money(f.name, hh[f.name]);
  if (hh.monitoredSince && asOf && hh.monitoredSince > asOf) {
    problems.monitoredSince = ["DATE_AFTER_AS_OF", ""];
  }
  if (!hh.members.length) problems.members = ["NO_MEMBERS", ""];
  const seen = new Set();
  hh.members.forEach((m, i) => {
    const p = `members[${i}]`;
    if (!String(m.id || "").trim()) problems[`${p}.id`] = ["REQUIRED", ""];
    else if (seen.has(m.id)) problems[`${p}.id`] = ["DUPLICATE_MEMBER_ID", ""];
    seen.add(m.id);
    if (!m.birthDate) problems[`${p}.birthDate`] = ["REQUIRED", ""];
    else if (asOf && m.birthDate > asOf) problems[`${p}.birthDate`] = ["BIRTH_AFTER_AS_OF", ""];
    money(`${p}.medicalOutOfPocket`, m.medicalOutOfPocket);
    if (m.disabilityGrade && !m.disabilityKind) {
      problems[`${p}.disabilityKind`] = ["DISABILITY_KIND_REQUIRED", ""];
    }
    if (m.disabilityKind && !m.disabilityGrade) {
      problems[`${p}.disabilityGrade`] = ["DISABILITY_GRADE_REQUIRED", ""];
    }
  });
  return problems;
}
