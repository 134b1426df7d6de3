// The household facts the form asks for (CONTRACT.md, Household JSON): name, kind, default,
// Chinese and English labels. Kinds: text, bool, money, date, select (a closed set of i18n.ENUMS).

export const HOUSEHOLD_FIELDS = [
  { name: "id", kind: "text", required: true, zh: "户编号", en: "Household id" },
  { name: "regionCode", kind: "text", zh: "行政区划代码", en: "Region code" },
  { name: "povertyAlleviated", kind: "bool", zh: "脱贫户", en: "Poverty-alleviated" },
  { name: "monitored", kind: "bool", zh: "监测对象", en: "Monitored" },
  { name: "monitoredSince", kind: "date", zh: "纳入监测日期", en: "Monitored since", optional: true },
  { name: "dibao", kind: "bool", zh: "低保户", en: "Dibao (minimum living allowance)" },
  { name: "dibaoMarginal", kind: "bool", zh: "低保边缘户", en: "Dibao-marginal" },
  { name: "annualNetIncome", kind: "money", zh: "家庭年纯收入", en: "Annual net income" },
  { name: "previousAnnualNetIncome", kind: "money", optional: true, zh: "上年家庭纯收入", en: "Previous year's net income" },
  { name: "disasterLoss", kind: "money", zh: "自然灾害损失", en: "Disaster loss" },
  { name: "accidentLoss", kind: "money", zh: "意外事故损失", en: "Accident loss" },
  { name: "foodAndClothingSecure", kind: "bool", default: true, zh: "不愁吃、不愁穿", en: "Food and clothing secure" },
  { name: "housingSafetyGrade", kind: "select", set: "housingSafetyGrade", default: "A", zh: "住房安全等级", en: "Housing safety grade" },
  { name: "drinkingWaterSafe", kind: "bool", default: true, zh: "饮水安全", en: "Drinking water safe" },
];

export const MEMBER_FIELDS = [
  { name: "id", kind: "text", required: true, zh: "成员编号", en: "Member id" },
  { name: "relation", kind: "select", set: "relation", default: "OTHER", zh: "与户主关系", en: "Relation" },
  { name: "birthDate", kind: "date", required: true, zh: "出生日期", en: "Birth date" },
  { name: "laborCapacity", kind: "select", set: "laborCapacity", default: "FULL", zh: "劳动能力", en: "Labour capacity" },
  { name: "schoolStage", kind: "select", set: "schoolStage", default: "NONE", zh: "在读学段", en: "School stage" },
  { name: "boarding", kind: "bool", zh: "寄宿", en: "Boarding" },
  { name: "disabilityKind", kind: "select", set: "disabilityKind", optional: true, zh: "残疾类别", en: "Disability kind" },
  { name: "disabilityGrade", kind: "select", set: "disabilityGrade", optional: true, number: true, zh: "残疾等级", en: "Disability grade" },
  { name: "needsLongTermCare", kind: "bool", zh: "需长期照护", en: "Needs long-term care" },
  { name: "medicallyInsured", kind: "bool", default: true, zh: "参加基本医保", en: "Medically insured" },
  { name: "medicalOutOfPocket", kind: "money", zh: "医疗自付费用（年）", en: "Medical out-of-pocket (year)" },
  { name: "tekun", kind: "bool", zh: "特困人员", en: "Destitute (tekun)" },
  { name: "orphan", kind: "bool", zh: "孤儿", en: "Orphan" },
];

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
