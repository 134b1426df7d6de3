// Monitoring cases (监测对象识别): the caseworker opens a case from an alert, an application or a
// visit and records its steps (home verification, department comparison, village review and
// public notice); township officers review and county officers approve, each from their queue.
// Every action shown is one the viewer's role may take at the case's current step; the API
// decides, and its refusals are shown where they apply.

import { ApiError, gql, personOf, today, userErrorsOf } from "./api.js";
import { can, session } from "./app.js";
import { fill, h, showPage } from "./dom.js";
import { apiLang, currentLang, label, paren, t } from "./i18n.js";
import { DETERMINATION_FIELDS, renderDetermination } from "./result.js";
import { factsFound } from "./visits.js";

const PAGE = 20;
export const STEPS = ["VERIFICATION", "COMPARISON", "VILLAGE_REVIEW", "TOWNSHIP_REVIEW",
  "COUNTY_APPROVAL"];
// Who records and decides each step (services.auth.STEP_ROLES), as the viewer's abilities.
const STEP_ABILITY = {
  VERIFICATION: "openCases", COMPARISON: "openCases", VILLAGE_REVIEW: "openCases",
  TOWNSHIP_REVIEW: "townshipReview", COUNTY_APPROVAL: "countyApproval",
};
// Steps whose record must exist before they are approved.
const RECORDED = new Set(["VERIFICATION", "COMPARISON", "VILLAGE_REVIEW"]);

const LIST_FIELDS = `id householdId regionCode kind channel status step openedOn dueOn
  stepDueOn stepRecorded overdue criteriaMet townshipReviewer`;

export const CASE_FIELDS = `id householdId regionCode kind channel status step alertId visitId
  applicationSignedOn note procedureVersion openedOn openedAt openedBy dueOn stepStartedOn
  stepDueOn stepRecorded noticeStartedOn noticeEndsOn objections criteriaGranted
  criteria { code titleZh: title(lang: ZH) titleEn: title(lang: EN) }
  criteriaReason criteriaReasonBy criteriaMet townshipReviewer closedOn closedBy closeReason
  householdRevision revision determinationId overdue
  household { revision facts }
  entries { id step action on at actor details }
  determination { id asOf createdBy householdRevision versions { ruleSet version contentHash } }`;

export function caseBadge(c) {
  return [h("span", { class: `badge case-${c.status}`, "data-status": c.status },
    label("caseStatus", c.status)),
  c.overdue ? [" ", h("span", { class: "badge overdue", "data-overdue": "true" }, t("overdue"))] : null];
}

function stepText(c) {
  return c.status === "OPEN" ? label("caseStep", c.step) : "—";
}

/** The list of cases: ``queue`` is a step (a review queue) or null (all the viewer's cases). */
export async function renderCases(main, queue = null) {
  const viewer = session.viewer || { regions: [] };
  const f = { status: "OPEN", kind: "", step: queue || "", overdue: false, region: "" };
  const list = h("div", { id: "case-list", "aria-live": "polite" });
  const overdueBox = h("section", { id: "overdue-counts", "aria-live": "polite" });
  const status = h("select", { id: "case-status" }, h("option", { value: "" }, t("allStatuses")),
    ["OPEN", "APPROVED", "REJECTED"].map((s) => h("option", { value: s }, label("caseStatus", s))));
  status.value = f.status;
  const kind = h("select", { id: "case-kind" }, h("option", { value: "" }, t("allKinds")),
    ["INCLUSION", "RISK_ELIMINATION"].map((k) => h("option", { value: k }, label("caseKind", k))));
  const step = h("select", { id: "case-step", disabled: Boolean(queue) },
    h("option", { value: "" }, t("allSteps")),
    STEPS.map((s) => h("option", { value: s }, label("caseStep", s))));
  step.value = f.step;
  const overdue = h("input", { id: "case-overdue", type: "checkbox" });
  const region = viewer.regions.length
    ? h("select", { id: "case-region" }, h("option", { value: "" }, t("allRegions")),
      viewer.regions.map((r) => h("option", { value: r }, r)))
    : h("input", { id: "case-region", type: "text" });

  const filterOf = () => {
    const out = {};
    if (f.status) out.status = f.status;
    if (f.kind) out.kind = f.kind;
    if (f.step) out.step = f.step;
    if (f.overdue) out.overdue = true;
    if (f.region) out.regionCodes = [f.region];
    return out;
  };
  const loadOverdue = async () => {
    const counts = (await gql(`query($regions: [String!]) {
      monitoringCaseOverdueCounts(regionCodes: $regions) { level regionCode count } }`,
    { regions: f.region ? [f.region] : null })).monitoringCaseOverdueCounts;
    fill(overdueBox, h("h2", {}, t("overdueCounts")),
      counts.length ? h("div", { class: "table-wrap" }, h("table", { id: "overdue-table" },
        h("thead", {}, h("tr", {}, h("th", {}, t("level")), h("th", {}, t("regionFilter")),
          h("th", {}, t("overdueCases")))),
        h("tbody", {}, counts.map((x) => h("tr", { "data-level": x.level, "data-region": x.regionCode },
          h("td", {}, label("level", x.level)), h("td", {}, x.regionCode),
          h("td", {}, String(x.count)))))))
        : h("p", { class: "help" }, t("noOverdue")));
  };
  const load = async (after) => {
    const data = await gql(`query($first: Int!, $after: String, $filter: MonitoringCaseFilter) {
      monitoringCases(first: $first, after: $after, filter: $filter) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { ${LIST_FIELDS} } } } }`,
    { first: PAGE, after, filter: filterOf() });
    const conn = data.monitoringCases;
    const rows = conn.edges.map(({ node: c }) => h("tr", { "data-case": c.id },
      h("td", {}, h("a", { href: `#/cases/${encodeURIComponent(c.id)}` },
        `${label("caseKind", c.kind)} · ${c.householdId}`)),
      h("td", {}, c.regionCode),
      h("td", {}, label("caseChannel", c.channel)),
      h("td", {}, stepText(c)),
      h("td", {}, c.status === "OPEN" ? c.stepDueOn : "—"),
      h("td", {}, c.dueOn),
      h("td", {}, caseBadge(c))));
    showPage(list, { after, rows, pageInfo: conn.pageInfo, moreText: t("more"),
      more: (cursor) => load(cursor).catch(show),
      whole: () => [
        h("p", { class: "help", "data-testid": "case-total" }, `${t("total")} ${conn.totalCount}`),
        rows.length ? h("div", { class: "table-wrap" }, h("table", { id: "cases" },
          h("thead", {}, h("tr", {}, h("th", {}, t("caseTitle")), h("th", {}, t("regionFilter")),
            h("th", {}, t("caseChannelLabel")), h("th", {}, t("caseStepLabel")),
            h("th", {}, t("stepDueOn")), h("th", {}, t("caseDueOn")), h("th", {}, t("status")))),
          h("tbody", {}, rows))) : h("p", {}, t("noCases"))] });
  };
  const show = (exc) => fill(list, h("p", { class: "error", role: "alert" }, exc.message));
  const search = () => {
    f.status = status.value;
    f.kind = kind.value;
    f.step = queue || step.value;
    f.overdue = overdue.checked;
    f.region = region.value.trim();
    return Promise.all([load(null), loadOverdue()]).catch(show);
  };
  const title = queue === "TOWNSHIP_REVIEW" ? t("townshipQueue")
    : queue === "COUNTY_APPROVAL" ? t("countyQueue") : t("casesTitle");
  fill(main, h("h1", {}, title),
    h("p", { class: "help" }, queue ? t("queueHelp") : t("casesHelp")),
    h("form", { class: "card row", onsubmit: (e) => { e.preventDefault(); search(); } },
      h("div", { class: "field" }, h("label", { for: "case-status" }, t("status")), status),
      h("div", { class: "field" }, h("label", { for: "case-kind" }, t("caseKindLabel")), kind),
      h("div", { class: "field" }, h("label", { for: "case-step" }, t("caseStepLabel")), step),
      h("div", { class: "field" }, h("label", { for: "case-region" }, t("regionFilter")), region),
      h("div", { class: "field check" }, overdue, h("label", { for: "case-overdue" }, t("overdueOnly"))),
      h("button", { type: "submit", class: "primary" }, t("search"))),
    list, overdueBox);
  await search();
}

// ------------------------------------------------------------------ opening a case

/** The form to open a case for a household; ``preset`` may name an alert or a visit. */
export async function renderCaseOpen(main, householdId, preset = {}) {
  const data = await gql(`query($id: ID!, $lang: Lang!) { household(id: $id) { id regionCode
    facts alerts { id title(lang: $lang) status raisedAt } } }`, { id: householdId, lang: apiLang() });
  const hh = data.household;
  if (!hh) {
    fill(main, h("h1", {}, t("openCase")),
      h("p", { class: "error", role: "alert", "data-testid": "not-found" }, t("notFound")));
    return;
  }
  const visits = await householdVisits(hh.id);
  const errors = {};
  const field = (name, labelText, control) => {
    errors[name] = h("p", { class: "field-error", id: `case-${name}-error`, role: "alert" });
    control.setAttribute("aria-describedby", `case-${name}-error`);
    return h("div", { class: "field", "data-field": name },
      h("label", { for: control.id }, labelText), control, errors[name]);
  };
  const kind = h("select", { id: "case-open-kind" },
    ["INCLUSION", "RISK_ELIMINATION"].map((k) => h("option", { value: k }, label("caseKind", k))));
  kind.value = preset.kind || (hh.facts.monitored ? "RISK_ELIMINATION" : "INCLUSION");
  const channel = h("select", { id: "case-open-channel" },
    ["APPLICATION", "ALERT", "VISIT"].map((c) => h("option", { value: c }, label("caseChannel", c))));
  channel.value = preset.alert ? "ALERT" : preset.visit ? "VISIT" : "APPLICATION";
  const signed = h("input", { id: "case-open-signed", type: "date", value: today() });
  const alert = h("select", { id: "case-open-alert" },
    h("option", { value: "" }, "—"),
    hh.alerts.map((a) => h("option", { value: a.id },
      `${a.title} · ${label("alertStatus", a.status)} · ${a.raisedAt.slice(0, 10)}`)));
  alert.value = preset.alert || "";
  const visit = h("select", { id: "case-open-visit" },
    h("option", { value: "" }, "—"),
    visits.map((v) => h("option", { value: v.id }, `${v.visitedOn} · ${(v.observations || "").slice(0, 30)}`)));
  visit.value = preset.visit || "";
  const note = h("textarea", { id: "case-open-note", rows: 2 });
  const status = h("p", { role: "status", id: "case-open-status" });
  const parts = {
    APPLICATION: field("applicationSignedOn", t("applicationSignedOn"), signed),
    ALERT: field("alertId", t("fromAlert"), alert),
    VISIT: field("visitId", t("fromVisit"), visit),
  };
  const showChannel = () => {
    for (const [name, el] of Object.entries(parts)) el.hidden = name !== channel.value;
  };
  channel.addEventListener("change", showChannel);
  showChannel();
  const submit = async (e) => {
    e.preventDefault();
    Object.values(errors).forEach((el) => fill(el, ""));
    main.querySelectorAll(".field.invalid").forEach((el) => el.classList.remove("invalid"));
    const input = { householdId: hh.id, kind: kind.value, channel: channel.value,
      note: note.value.trim() || null };
    if (channel.value === "APPLICATION") input.applicationSignedOn = signed.value || null;
    if (channel.value === "ALERT") input.alertId = alert.value || null;
    if (channel.value === "VISIT") input.visitId = visit.value || null;
    try {
      const out = userErrorsOf((await gql(`mutation($input: MonitoringCaseOpenInput!) {
        monitoringCaseOpen(input: $input) { monitoringCase { id }
        userErrors { field errorCode message } } }`, { input })).monitoringCaseOpen);
      location.hash = `#/cases/${encodeURIComponent(out.monitoringCase.id)}`;
    } catch (exc) {
      showFieldErrors(exc, errors, status);
    }
  };
  fill(main,
    h("p", {}, h("a", { href: `#/households/${encodeURIComponent(hh.id)}` }, `← ${hh.id}`)),
    h("h1", {}, `${t("openCase")} · ${hh.id}`),
    h("p", { class: "help" }, t("openCaseHelp")),
    h("form", { class: "card", id: "case-open", onsubmit: submit },
      h("div", { class: "grid" },
        field("kind", t("caseKindLabel"), kind),
        field("channel", t("caseChannelLabel"), channel),
        parts.APPLICATION, parts.ALERT, parts.VISIT),
      field("note", t("caseNote"), note),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("openCase")))),
    status);
}

/** userErrors beside the fields they name (``input.alertId`` -> alertId), the rest below. */
function showFieldErrors(exc, errors, status) {
  const fieldErrors = exc instanceof ApiError ? exc.fieldErrors : [];
  const other = [];
  for (const fe of fieldErrors) {
    const name = (fe.field || "").split(".").slice(-1)[0];
    if (errors[name]) {
      fill(errors[name], fe.message);
      errors[name].closest(".field")?.classList.add("invalid");
    } else {
      other.push(fe.message);
    }
  }
  if (!fieldErrors.length) other.push(exc.message);
  fill(status, other.length ? h("span", { class: "error", role: "alert" }, other.join(t("semi"))) : "");
}

async function householdVisits(id) {
  try {
    const data = await gql(`query($id: ID!) { household(id: $id) { visits {
      id visitedOn observations } } }`, { id });
    return (data.household && data.household.visits) || [];
  } catch (exc) {
    return [];
  }
}

// ------------------------------------------------------------------ one case

export async function renderCase(main, id, flash = "") {
  const data = await gql(`query($id: ID!) { monitoringCase(id: $id) { ${CASE_FIELDS} } }`, { id });
  const c = data.monitoringCase;
  if (!c) {
    fill(main, h("h1", {}, t("casesTitle")),
      h("p", { class: "error", role: "alert", "data-testid": "not-found" }, t("caseNotFound")));
    return;
  }
  const detBox = h("section", { id: "case-determination", "aria-live": "polite" });
  fill(main,
    h("p", {}, h("a", { href: "#/cases" }, `← ${t("casesTitle")}`)),
    h("h1", {}, `${label("caseKind", c.kind)} · ${c.householdId} `, caseBadge(c)),
    h("p", { id: "case-done", class: "ok", role: "status" }, flash),
    stepsBar(c),
    h("dl", { class: "meta stats", id: "case-meta" },
      meta(t("household"), can("readHouseholds")
        ? h("a", { href: `#/households/${encodeURIComponent(c.householdId)}` }, c.householdId)
        : c.householdId),
      meta(t("regionFilter"), c.regionCode),
      meta(t("caseChannelLabel"), label("caseChannel", c.channel)),
      c.applicationSignedOn ? meta(t("applicationSignedOn"), c.applicationSignedOn) : null,
      c.alertId ? meta(t("fromAlert"), h("a", { href: `#/alerts/${encodeURIComponent(c.alertId)}` },
        t("openAlert"))) : null,
      meta(t("openedOn"), `${c.openedOn} · ${personOf(c.openedBy)}`),
      meta(t("caseStepLabel"), stepText(c)),
      c.status === "OPEN" ? meta(t("stepDueOn"), c.stepDueOn) : null,
      meta(t("caseDueOn"), c.dueOn),
      c.noticeStartedOn ? meta(t("notice"), `${c.noticeStartedOn} – ${c.noticeEndsOn}`) : null,
      c.townshipReviewer ? meta(t("townshipReviewer"), personOf(c.townshipReviewer)) : null,
      c.closedOn ? meta(t("closedOn"), `${c.closedOn} · ${personOf(c.closedBy)}`) : null,
      c.householdRevision ? meta(t("householdRevisionWritten"), c.householdRevision) : null,
      meta(t("procedureVersion"), `v${c.procedureVersion}`)),
    c.note ? h("p", { class: "card" }, h("strong", {}, `${t("caseNote")}${t("colon")}`), c.note) : null,
    c.closeReason ? h("p", { class: "card", id: "close-reason" },
      h("strong", {}, `${t("closeReason")}${t("colon")}`), c.closeReason) : null,
    criteriaBox(c),
    c.objections.length ? h("section", { class: "card", id: "objections" },
      h("h2", {}, t("objections")), h("ul", {}, c.objections.map((o) => h("li", {}, o)))) : null,
    actionBox(main, c),
    c.determination ? h("section", { class: "card", id: "case-determination-box" },
      h("h2", {}, t("caseDetermination")),
      h("p", { class: "help" }, `${t("asOf")} ${c.determination.asOf} · ${t("createdBy")} `
        + `${personOf(c.determination.createdBy)} · ${t("revision")} ${c.determination.householdRevision ?? "—"} · `
        + c.determination.versions.map((v) => `${v.ruleSet} v${v.version} ${v.contentHash.slice(0, 8)}`).join(t("semi"))),
      h("button", { type: "button", id: "show-determination", onclick: async () => {
        try {
          const out = await gql(`query($id: ID!, $lang: Lang!) { determinationRecord(id: $id) {
            replay { identical determination { ${DETERMINATION_FIELDS} } } } }`,
          { id: c.determination.id, lang: apiLang() });
          fill(detBox, h("div", {}));
          await renderDetermination(detBox.firstChild, out.determinationRecord.replay.determination);
        } catch (exc) {
          fill(detBox, h("p", { class: "error", role: "alert" }, exc.message));
        }
      } }, t("showReasons")), detBox) : null,
    h("section", { class: "card", id: "case-entries" },
      h("h2", {}, t("caseHistory")),
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", {}, t("occurredOn")), h("th", {}, t("caseStepLabel")),
          h("th", {}, t("audit_action")), h("th", {}, t("audit_actor")), h("th", {}, t("audit_details")))),
        h("tbody", {}, c.entries.map((e) => h("tr", { "data-action": e.action, "data-step": e.step },
          h("td", {}, e.on), h("td", {}, label("caseStep", e.step)),
          h("td", {}, label("caseAction", e.action)), h("td", {}, personOf(e.actor)),
          h("td", {}, entryDetails(e.details, c)))))))));
}

function meta(name, value) {
  return h("div", { class: "stat" }, h("dt", { class: "help" }, name), h("dd", {}, value ?? "—"));
}

function stepsBar(c) {
  const at = STEPS.indexOf(c.step);
  return h("ol", { class: "steps", id: "case-steps", "aria-label": t("caseStepLabel") },
    STEPS.map((s, i) => {
      const state = c.status === "APPROVED" || i < at ? "done"
        : i === at ? (c.status === "REJECTED" ? "rejected" : "current") : "todo";
      return h("li", { class: `step ${state}`, "data-step": s,
        "aria-current": state === "current" ? "step" : null }, label("caseStep", s));
    }));
}

function criteriaBox(c) {
  return h("section", { class: `card criteria ${c.criteriaMet ? "met" : "unmet"}`, id: "case-criteria" },
    h("h2", {}, t("criteria")),
    h("p", { "data-testid": "criteria-met" }, c.criteriaMet ? t("criteriaMet") : t("criteriaUnmet")),
    c.criteriaGranted.length ? h("p", { id: "criteria-granted" }, `${t("criteriaGranted")}${t("colon")}`,
      c.criteriaGranted.map((code, i) => [i ? t("listSep") : "",
        h("span", { title: code, "data-code": code }, criterionTitle(c, code))])) : null,
    c.criteriaReason ? h("blockquote", { class: "citation", id: "criteria-reason" },
      `${t("criteriaReasonLabel")}${paren(personOf(c.criteriaReasonBy))}${t("colon")}${c.criteriaReason}`) : null);
}

/** An outcome code the case's criteria name, by its title in the attached determination's
 * version (the code when the case does not know it). */
function criterionTitle(c, code) {
  const found = (c.criteria || []).find((x) => x.code === code);
  if (!found) return code;
  return currentLang() === "zh" ? found.titleZh : found.titleEn;
}

const DETAIL_KEYS = ["verifiers", "reason", "returnTo", "noticeStartedOn", "noticeEndsOn",
  "objections", "note", "criteriaReason", "granted", "householdRevision", "window", "eventIds",
  "alertIds"];

function entryDetails(details, c) {
  const d = details || {};
  const items = DETAIL_KEYS.filter((k) => d[k] !== undefined && d[k] !== null
    && !(Array.isArray(d[k]) && !d[k].length)).map((k) => {
    const v = d[k];
    const text = k === "returnTo" ? label("caseStep", v)
      : (k === "eventIds" || k === "alertIds") ? String(v.length)
        : k === "granted" ? v.map((code) => criterionTitle(c, code)).join(t("listSep"))
          : Array.isArray(v) ? v.join(t("listSep")) : String(v);
    return h("li", {}, `${t(`detail_${k}`)}${t("colon")}${text}`);
  });
  return items.length ? h("ul", { class: "entry-details" }, items) : "";
}

// ------------------------------------------------------------------ recording and deciding

function actionBox(main, c) {
  if (c.status !== "OPEN") return null;
  const ability = STEP_ABILITY[c.step];
  if (!can(ability)) {
    return h("p", { class: "help", id: "case-waiting" },
      `${t("waitingFor")}${t("colon")}${label("caseStepActor", c.step)}`);
  }
  const status = h("p", { id: "case-action-status", role: "status", "aria-live": "polite" });
  const errors = {};
  const field = (name, labelText, control, help) => {
    errors[name] = h("p", { class: "field-error", id: `${control.id}-error`, role: "alert" });
    control.setAttribute("aria-describedby", `${control.id}-error`);
    return h("div", { class: "field", "data-field": name },
      h("label", { for: control.id }, labelText), control,
      help ? h("p", { class: "help" }, help) : null, errors[name]);
  };
  const clear = () => {
    Object.values(errors).forEach((el) => fill(el, ""));
    main.querySelectorAll(".field.invalid").forEach((el) => el.classList.remove("invalid"));
    fill(status, "");
  };
  const mark = (name, text) => {
    fill(errors[name], text);
    errors[name].closest(".field")?.classList.add("invalid");
  };
  const done = (text) => renderCase(main, c.id, text);

  // The step's record (the first three steps).
  let recordForm = null;
  if (RECORDED.has(c.step)) {
    const inputs = {};
    const body = [];
    if (c.step === "VERIFICATION") {
      inputs.v1 = h("input", { id: "verifier-1", type: "text", autocomplete: "off" });
      inputs.v2 = h("input", { id: "verifier-2", type: "text", autocomplete: "off" });
      body.push(h("p", { class: "help" }, t("verificationHelp"), " ",
        can("evaluate") ? h("a", { href: `#/households/${encodeURIComponent(c.householdId)}` },
          t("editFactsFirst")) : null));
      body.push(h("div", { class: "grid" },
        field("verifiers", t("verifier1"), inputs.v1), field("verifier2", t("verifier2"), inputs.v2)));
      if (c.household) {
        // The facts as verified at home: a change becomes a new revision of the household.
        inputs.facts = factsFound(c.household.facts, "verified");
        body.push(h("fieldset", { class: "card", id: "verified-facts" },
          h("legend", {}, t("verifiedFacts")),
          h("div", { class: "grid" }, inputs.facts.fields(field))));
      }
    }
    if (c.step === "COMPARISON") body.push(h("p", { class: "help" }, t("comparisonHelp")));
    if (c.step === "VILLAGE_REVIEW") {
      inputs.notice = h("input", { id: "notice-started", type: "date", value: today() });
      inputs.objections = h("textarea", { id: "objections-input", rows: 3 });
      body.push(h("p", { class: "help" }, t("villageHelp")));
      body.push(h("div", { class: "grid" },
        field("noticeStartedOn", t("noticeStartedOn"), inputs.notice)),
      field("objections", t("objectionsInput"), inputs.objections, t("objectionsHelp")));
    }
    inputs.note = h("textarea", { id: "record-note", rows: 2 });
    body.push(field("note", t("recordNote"), inputs.note));
    if (c.step === "VERIFICATION" || c.step === "COMPARISON") {
      inputs.criteria = h("textarea", { id: "criteria-reason-input", rows: 2 });
      body.push(field("criteriaReason", t("criteriaReasonLabel"), inputs.criteria,
        t("criteriaReasonHelp")));
    }
    recordForm = h("form", { class: "card", id: "record-step", onsubmit: async (e) => {
      e.preventDefault();
      clear();
      const record = { note: inputs.note.value.trim() || null };
      if (inputs.v1) {
        record.verifiers = [inputs.v1.value.trim(), inputs.v2.value.trim()].filter(Boolean);
        if (record.verifiers.length < 2) {
          mark("verifiers", t("twoVerifiers"));
          return;
        }
        const found = inputs.facts ? inputs.facts.found() : null;
        if (found) record.household = found;
      }
      if (inputs.notice) {
        record.noticeStartedOn = inputs.notice.value || null;
        record.objections = inputs.objections.value.split("\n").map((x) => x.trim()).filter(Boolean);
      }
      if (inputs.criteria && inputs.criteria.value.trim()) record.criteriaReason = inputs.criteria.value.trim();
      try {
        userErrorsOf((await gql(`mutation($id: ID!, $step: MonitoringCaseStep!,
          $record: MonitoringCaseStepInput!, $rev: Int) {
          monitoringCaseRecordStep(id: $id, step: $step, record: $record, expectedRevision: $rev) {
          monitoringCase { id } userErrors { field errorCode message } } }`,
        { id: c.id, step: c.step, record, rev: c.revision })).monitoringCaseRecordStep);
        await done(`${t("stepRecorded")}${t("colon")}${label("caseStep", c.step)}`);
      } catch (exc) {
        showFieldErrors(exc, errors, status);
      }
    } },
    h("h2", {}, `${t("recordStep")}${t("colon")}${label("caseStep", c.step)}`),
    c.stepRecorded ? h("p", { class: "help" }, t("recordAgain")) : null,
    body,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "record-submit" },
      t("recordStep"))));
  }

  // The decision on the step.
  const reason = h("textarea", { id: "decision-reason", rows: 2 });
  const earlier = STEPS.slice(0, STEPS.indexOf(c.step));
  const returnTo = h("select", { id: "decision-return-to" },
    earlier.map((s) => h("option", { value: s }, label("caseStep", s))));
  if (earlier.length) returnTo.value = earlier[earlier.length - 1];
  const sameReviewer = c.step === "COUNTY_APPROVAL" && session.viewer
    && personOf(c.townshipReviewer) === session.viewer.name;
  // The notice period is the service's to judge (its calendar, its today): the console says
  // when it ends and shows the API's answer rather than guessing from the browser's clock.
  const noticeNote = c.step === "VILLAGE_REVIEW" && c.noticeEndsOn
    ? `${t("noticeRunning")} ${c.noticeEndsOn}` : "";
  const blocked = (RECORDED.has(c.step) && !c.stepRecorded) ? t("recordFirst")
    : c.step === "COMPARISON" && !c.criteriaMet ? t("criteriaBlock")
      : sameReviewer ? t("caseFourEyes") : "";
  const decide = (decision) => async () => {
    clear();
    if (decision !== "APPROVE" && !reason.value.trim()) {
      mark("reason", t("reasonRequired"));
      reason.focus();
      return;
    }
    try {
      userErrorsOf((await gql(`mutation($id: ID!, $decision: MonitoringCaseDecision!,
        $reason: String, $returnTo: MonitoringCaseStep, $rev: Int) {
        monitoringCaseDecide(id: $id, decision: $decision, reason: $reason, returnTo: $returnTo,
          expectedRevision: $rev) { monitoringCase { id status step }
          userErrors { field errorCode message } } }`,
      { id: c.id, decision, reason: reason.value.trim() || null,
        returnTo: decision === "RETURN" ? returnTo.value : null, rev: c.revision })).monitoringCaseDecide);
      await done(`${t("decided")}${t("colon")}${label("caseDecision", decision)}`);
    } catch (exc) {
      showFieldErrors(exc, errors, status);
    }
  };
  const decideBox = h("section", { class: "card", id: "decide-step" },
    h("h2", {}, `${t("decideStep")}${t("colon")}${label("caseStep", c.step)}`),
    c.step === "COUNTY_APPROVAL" || c.step === "TOWNSHIP_REVIEW"
      ? h("p", { class: "help" }, t("reviewHelp")) : null,
    field("reason", t("decisionReason"), reason),
    earlier.length ? field("returnTo", t("returnTo"), returnTo) : null,
    h("div", { class: "actions" },
      h("button", { type: "button", id: "decide-approve", class: "primary",
        disabled: Boolean(blocked), "aria-describedby": blocked ? "decide-blocked" : null,
        onclick: decide("APPROVE") }, label("caseDecision", "APPROVE")),
      earlier.length ? h("button", { type: "button", id: "decide-return",
        onclick: decide("RETURN") }, label("caseDecision", "RETURN")) : null,
      h("button", { type: "button", id: "decide-reject", class: "danger",
        onclick: decide("REJECT") }, label("caseDecision", "REJECT"))),
    blocked ? h("p", { id: "decide-blocked", class: sameReviewer ? "error" : "help" }, blocked) : null,
    noticeNote ? h("p", { id: "notice-note", class: "help" }, noticeNote) : null);
  return h("div", { id: "case-actions" }, recordForm, decideBox, status);
}

/** A household's cases, for its page. */
export function householdCases(cases) {
  if (!cases.length) return h("p", { class: "help" }, t("noCases"));
  return h("div", { class: "table-wrap" }, h("table", { id: "household-cases" },
    h("thead", {}, h("tr", {}, h("th", {}, t("caseTitle")), h("th", {}, t("openedOn")),
      h("th", {}, t("caseStepLabel")), h("th", {}, t("status")))),
    h("tbody", {}, cases.map((c) => h("tr", { "data-case": c.id },
      h("td", {}, h("a", { href: `#/cases/${encodeURIComponent(c.id)}` },
        `${label("caseKind", c.kind)} · ${label("caseChannel", c.channel)}`)),
      h("td", {}, c.openedOn), h("td", {}, stepText(c)), h("td", {}, caseBadge(c)))))));
}
