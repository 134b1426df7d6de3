// A household's history and a cadre's regular visit (干部定期回访, 日常监测): the timeline of visits,
// revisions, determinations, alerts and cases; the visit form (what was seen, the day-to-day
// facts found, a case opened from it); for a monitoring object, its risks with the measures
// against them (帮扶措施), a risk without one flagged, and a measure recorded by hand.

import { ApiError, gql, personOf, today, userErrorsOf } from "./api.js";
import { can } from "./app.js";
import { fill, h } from "./dom.js";
import { factName } from "./facts.js";
import { ENUMS, label, paren, t } from "./i18n.js";

export const HOUSEHOLD_HISTORY_FIELDS = `
  timeline { at on kind ref actor detail title(lang: $lang) }
  visits { id visitedOn observations factsChanged householdRevision recordedBy }
  assistance { determinationId asOf uncoveredRisks
    risks { code title(lang: $lang) covered
      measures { source code title(lang: $lang) memberId startedOn note recordedBy } } }`;

function refLink(entry) {
  const id = encodeURIComponent(entry.ref);
  if (entry.kind === "ALERT") return h("a", { href: `#/alerts/${id}` }, entry.title);
  if (entry.kind === "CASE") return h("a", { href: `#/cases/${id}` }, entry.title);
  return entry.title;
}

/** The household's timeline, newest first. */
export function timeline(entries) {
  if (!entries.length) return h("p", { class: "help" }, "—");
  const rows = [...entries].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  return h("div", { class: "table-wrap" }, h("table", { id: "timeline" },
    h("thead", {}, h("tr", {}, h("th", {}, t("occurredOn")), h("th", {}, t("timelineKind")),
      h("th", {}, t("timelineWhat")), h("th", {}, t("audit_actor")))),
    h("tbody", {}, rows.map((e) => h("tr", { "data-kind": e.kind, "data-ref": e.ref },
      h("td", {}, e.on), h("td", {}, h("span", { class: `badge tl-${e.kind}` }, label("timelineKind", e.kind))),
      h("td", {}, refLink(e), factsNote(e.detail)),
      h("td", {}, personOf(e.actor) || "—"))))));
}

function factsNote(detail) {
  const changed = (detail && detail.factsChanged) || [];
  return changed.length ? h("div", { class: "help" }, `${t("factsChanged")}${t("colon")}${changed.map(factName).join(t("listSep"))}`) : null;
}

// Day-to-day monitoring (日常监测) facts a visit looks at: income, housing, water, food and clothing.
const VISIT_FACTS = [
  { name: "annualNetIncome", kind: "money" },
  { name: "housingSafetyGrade", kind: "select", set: "HousingSafetyGrade" },
  { name: "drinkingWaterSafe", kind: "bool" },
  { name: "foodAndClothingSecure", kind: "bool" },
];

/**
 * The day-to-day facts as found, prefilled with the stored ones (ids prefixed ``prefix``):
 * ``fields(field)`` draws them with the caller's field maker; ``found()`` is the stored facts
 * with the changes made, or null when nothing changed.
 */
export function factsFound(facts, prefix) {
  const inputs = {};
  for (const f of VISIT_FACTS) {
    const current = facts[f.name];
    const id = `${prefix}-${f.name}`;
    if (f.kind === "money") {
      inputs[f.name] = h("input", { id, type: "number", step: "0.01", min: "0",
        value: current ?? "" });
    } else if (f.kind === "select") {
      inputs[f.name] = h("select", { id }, h("option", { value: "" }, t("unknown")),
        Object.keys(ENUMS[f.set]).map((k) => h("option", { value: k }, label(f.set, k))));
      inputs[f.name].value = current ?? "";
    } else {
      inputs[f.name] = h("select", { id }, h("option", { value: "" }, t("unknown")),
        h("option", { value: "true" }, t("yes")), h("option", { value: "false" }, t("no")));
      inputs[f.name].value = current === true ? "true" : current === false ? "false" : "";
    }
  }
  const read = (f) => {
    const raw = inputs[f.name].value;
    if (raw === "") return null;
    if (f.kind === "money") return Number(raw);
    if (f.kind === "bool") return raw === "true";
    return raw;
  };
  return {
    fields: (field) => VISIT_FACTS.map((f) => field(f.name,
      f.kind === "money" ? `${t(`fact_${f.name}`)}${paren(t("yuan"))}` : t(`fact_${f.name}`), inputs[f.name])),
    found: () => {
      const out = { ...facts };
      let changed = false;
      for (const f of VISIT_FACTS) {
        const v = read(f);
        const before = facts[f.name] ?? null;
        const same = v === before || (f.kind === "money" && v !== null && before !== null
          && Number(before) === v);
        if (!same) {
          changed = true;
          if (v === null) delete out[f.name];
          else out[f.name] = v;
        }
      }
      return changed ? out : null;
    },
  };
}

/** The visit form; ``reload`` draws the household's page again after a visit is recorded. */
export function visitForm(hh, reload) {
  const inputs = {};
  const errors = {};
  const field = (name, labelText, control) => {
    const id = control.id;
    errors[name] = h("p", { class: "field-error", id: `${id}-error`, role: "alert" });
    control.setAttribute("aria-describedby", `${id}-error`);
    return h("div", { class: "field", "data-field": name }, h("label", { for: id }, labelText),
      control, errors[name]);
  };
  inputs.visitedOn = h("input", { id: "visit-on", type: "date", value: today(), required: true });
  inputs.observations = h("textarea", { id: "visit-observations", rows: 3, required: true });
  const facts = factsFound(hh.facts, "visit");
  inputs.openCase = h("select", { id: "visit-open-case" },
    h("option", { value: "" }, t("noCase")),
    ["INCLUSION", "RISK_ELIMINATION"].map((k) => h("option", { value: k }, label("caseKind", k))));
  const status = h("p", { id: "visit-status", role: "status" });
  const submit = async (e) => {
    e.preventDefault();
    Object.values(errors).forEach((el) => fill(el, ""));
    fill(status, "");
    const observations = inputs.observations.value.trim();
    if (!observations) {
      fill(errors.observations, t("observationsRequired"));
      inputs.observations.focus();
      return;
    }
    // The facts as found: the stored ones with the day-to-day ones the cadre changed; none
    // changed, none sent (the visit is recorded against the stored revision).
    const input = { householdId: hh.id, visitedOn: inputs.visitedOn.value, observations,
      household: facts.found(), openCase: inputs.openCase.value || null };
    try {
      const out = userErrorsOf((await gql(`mutation($input: VisitInput!) { visitRecord(input: $input) {
        visit { id factsChanged householdRevision } monitoringCase { id }
        userErrors { field errorCode message } } }`, { input })).visitRecord);
      if (out.monitoringCase) {
        location.hash = `#/cases/${encodeURIComponent(out.monitoringCase.id)}`;
        return;
      }
      await reload(`${t("visitRecorded")}${out.visit.factsChanged.length
        ? `${t("colon")}${t("factsChanged")} ${out.visit.factsChanged.map(factName).join(t("listSep"))}` : ""}`);
    } catch (exc) {
      const other = [];
      for (const fe of (exc instanceof ApiError ? exc.fieldErrors : [])) {
        const name = (fe.field || "").replace(/^input\./, "").replace(/^household\./, "");
        if (errors[name]) fill(errors[name], fe.message);
        else other.push(fe.message);
      }
      if (!(exc instanceof ApiError) || !exc.fieldErrors.length) other.push(exc.message);
      if (other.length) fill(status, h("span", { class: "error", role: "alert" }, other.join(t("semi"))));
    }
  };
  return h("form", { class: "card", id: "visit-form", novalidate: true, onsubmit: submit },
    h("h2", {}, t("recordVisit")),
    h("p", { class: "help" }, t("visitHelp")),
    h("div", { class: "grid" },
      field("visitedOn", t("visitedOn"), inputs.visitedOn),
      facts.fields(field),
      field("openCase", t("visitOpenCase"), inputs.openCase)),
    field("observations", t("observations"), inputs.observations),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("recordVisit"))),
    status);
}

/** A monitoring object's risks with their measures, an uncovered risk flagged; a measure form. */
export function assistanceBox(hh, reload) {
  const a = hh.assistance;
  if (!a) return null;
  const status = h("p", { id: "measure-status", role: "status" });
  const risk = h("select", { id: "measure-risk" },
    a.risks.map((r) => h("option", { value: r.code }, r.title)));
  const uncovered = a.risks.find((r) => !r.covered);
  if (uncovered) risk.value = uncovered.code;
  const measure = h("input", { id: "measure-name", type: "text", placeholder: t("measureExample") });
  const started = h("input", { id: "measure-started", type: "date", value: today() });
  const note = h("input", { id: "measure-note", type: "text" });
  return h("section", { class: "card", id: "assistance" },
    h("h2", {}, t("assistanceTitle")),
    h("p", { class: "help" }, `${t("asOf")} ${a.asOf || "—"}`),
    a.risks.length ? h("ul", { class: "risks" }, a.risks.map((r) => h("li", {
      class: `risk ${r.covered ? "covered" : "uncovered"}`, "data-risk": r.code },
    h("strong", {}, r.title), " ",
    r.covered ? null : h("span", { class: "badge overdue", "data-uncovered": "true" }, t("noMeasure")),
    r.measures.length ? h("ul", {}, r.measures.map((m) => h("li", { "data-source": m.source },
      `${m.title}${m.memberId ? ` · ${m.memberId}` : ""}`
      + `${m.startedOn ? ` · ${m.startedOn}` : ""}`
      + ` · ${m.source === "BENEFIT" ? t("measureBenefit") : `${t("measureRecorded")} ${personOf(m.recordedBy)}`}`
      + `${m.note ? ` · ${m.note}` : ""}`))) : null)))
      : h("p", { class: "help" }, t("noRisks")),
    can("openCases") && a.risks.length ? h("form", { class: "row", id: "measure-form", onsubmit: async (e) => {
      e.preventDefault();
      fill(status, "");
      if (!measure.value.trim()) {
        fill(status, h("span", { class: "error", role: "alert" }, t("measureRequired")));
        measure.focus();
        return;
      }
      try {
        userErrorsOf((await gql(`mutation($input: AssistanceMeasureInput!) {
          assistanceMeasureRecord(input: $input) { measure { id } userErrors { field errorCode message } } }`,
        { input: { householdId: hh.id, risk: risk.value, measure: measure.value.trim(),
          startedOn: started.value, note: note.value.trim() || null } })).assistanceMeasureRecord);
        await reload(t("measureSaved"));
      } catch (exc) {
        fill(status, h("span", { class: "error", role: "alert" }, exc.message));
      }
    } },
    h("div", { class: "field" }, h("label", { for: "measure-risk" }, t("measureRisk")), risk),
    h("div", { class: "field" }, h("label", { for: "measure-name" }, t("measureName")), measure),
    h("div", { class: "field" }, h("label", { for: "measure-started" }, t("measureStarted")), started),
    h("div", { class: "field" }, h("label", { for: "measure-note" }, t("caseNote")), note),
    h("button", { type: "submit" }, t("recordMeasure"))) : null,
    status);
}
