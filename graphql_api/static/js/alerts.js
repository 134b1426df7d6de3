// Early-warning alerts for caseworkers: the inbox of one's regions with counts by status and by
// rule, an alert's events and explanation, and the caseworker's decision (verify, include in
// monitoring, dismiss with a reason). Auditors read the same pages without the decision.

import { ApiError, gql, today } from "./api.js";
import { can, session } from "./app.js";
import { fill, h, showPage } from "./dom.js";
import { apiLang, currentLang, label, t } from "./i18n.js";
import { factName, factValue } from "./facts.js";
import { cents, yuan } from "./money.js";
import { DETERMINATION_FIELDS, reasonBlock, renderDetermination, treeSelection } from "./result.js";

const PAGE = 20;
const STATUSES = ["OPEN", "VERIFIED", "INCLUDED", "DISMISSED"];
// The inbox opens on the alerts that wait for someone; the choice is kept while the tab lives.
const filter = { status: "OPEN", region: "", rule: "" };

/** What one alert gathers its events under (the key it is filed by, engine/warning.py's
 * causes) in words: a year, a member, a member in a year, or a grant's kind and day. */
export function causeText(cause) {
  const zh = currentLang() === "zh";
  let m = /^(\d{4})$/.exec(cause);
  if (m) return zh ? `${m[1]} 年度` : `Year ${m[1]}`;
  m = /^member:([^:]+)$/.exec(cause);
  if (m) return zh ? `成员 ${m[1]}` : `Member ${m[1]}`;
  m = /^member:([^:]+):(\d{4})$/.exec(cause);
  if (m) return zh ? `成员 ${m[1]}，${m[2]} 年度` : `Member ${m[1]}, year ${m[2]}`;
  m = /^([A-Z_]+):(\d{4}-\d{2}-\d{2})$/.exec(cause);
  if (m) return `${label("eventKind", m[1])} ${m[2]}`;
  return cause;
}

const REASON_FIELDS = `ruleId text(lang: $lang) citation { document clause quote url }
  condition(depth: null) { ${treeSelection(6)} }`;

const ruleTitles = {};

/** The early_warning rules' titles in the current language, by outcome code. */
async function alertTitles() {
  const lang = currentLang();
  if (!ruleTitles[lang]) {
    ruleTitles[lang] = {};
    try {
      const data = await gql(`query($asOf: Date!) { ruleSet(code: "early_warning") {
        versionInForce(asOf: $asOf) { document } } }`, { asOf: today() });
      const doc = data.ruleSet && data.ruleSet.versionInForce && data.ruleSet.versionInForce.document;
      for (const r of (doc && doc.rules) || []) {
        ruleTitles[lang][r.outcome] = r.title ? (lang === "zh" ? r.title.zh : r.title.en || r.title.zh) : r.outcome;
      }
    } catch (exc) {
      // Titles are a convenience: the codes are shown instead.
    }
  }
  return ruleTitles[lang];
}

function when(stamp) {
  return stamp ? stamp.slice(0, 16).replace("T", " ") : "—";
}

export function alertBadge(status) {
  return h("span", { class: `badge alert-${status}`, "data-status": status },
    label("alertStatus", status));
}

function stat(name, value, attrs = {}) {
  return h("button", { type: "button", class: "stat", ...attrs },
    h("span", { class: "help" }, name), h("b", {}, String(value)));
}

export async function renderAlerts(main) {
  const viewer = session.viewer || { regions: [] };
  const titles = await alertTitles();
  const counts = h("section", { id: "alert-counts", "aria-live": "polite" });
  const list = h("div", { id: "alert-list", "aria-live": "polite" });
  const status = h("select", { id: "alert-status" },
    h("option", { value: "" }, t("allStatuses")),
    STATUSES.map((s) => h("option", { value: s, selected: filter.status === s },
      label("alertStatus", s))));
  status.value = filter.status;
  // A caseworker chooses among their regions; an auditor (all regions) types a code.
  const region = viewer.regions.length
    ? h("select", { id: "alert-region" }, h("option", { value: "" }, t("allRegions")),
      viewer.regions.map((r) => h("option", { value: r }, r)))
    : h("input", { id: "alert-region", type: "text", placeholder: "371300-001" });
  region.value = filter.region;
  const rule = h("select", { id: "alert-rule" }, h("option", { value: "" }, t("allRules")),
    Object.entries(titles).map(([code, title]) => h("option", { value: code }, title)));
  rule.value = filter.rule;

  const regionCodes = () => (filter.region ? [filter.region] : null);
  const loadCounts = async () => {
    const c = (await gql(`query($regions: [String!]) { alertCounts(regionCodes: $regions) {
      total byStatus { key count } byRule { key count } } }`, { regions: regionCodes() })).alertCounts;
    const of = (key) => (c.byStatus.find((x) => x.key === key) || { count: 0 }).count;
    fill(counts,
      h("div", { class: "stats", id: "alert-status-counts" },
        STATUSES.map((s) => stat(label("alertStatus", s), of(s), {
          "data-status": s, "aria-pressed": String(filter.status === s),
          onclick: () => { status.value = s; search(); } })),
        stat(t("allStatuses"), c.total, { "data-status": "", "aria-pressed": String(!filter.status),
          onclick: () => { status.value = ""; search(); } })),
      c.byRule.length ? h("details", { class: "card", id: "alert-rule-counts" },
        h("summary", {}, t("byRule")),
        h("ul", {}, c.byRule.map((x) => h("li", {}, `${titles[x.key] || x.key}${t("colon")}${x.count}`))))
        : null);
  };
  const load = async (after) => {
    const f = {};
    if (filter.status) f.status = filter.status;
    if (filter.region) f.regionCodes = [filter.region];
    if (filter.rule) f.rule = filter.rule;
    const data = await gql(`query($first: Int!, $after: String, $filter: AlertFilter, $lang: Lang!) {
      alerts(first: $first, after: $after, filter: $filter) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { node { id rule title(lang: $lang) status householdId regionCode memberId
          raisedAt updatedAt events { id } } } } }`,
    { first: PAGE, after, filter: f, lang: apiLang() });
    const conn = data.alerts;
    const rows = conn.edges.map(({ node: a }) => h("tr", { "data-alert": a.id },
      h("td", {}, when(a.raisedAt)),
      h("td", {}, h("a", { href: `#/alerts/${encodeURIComponent(a.id)}` }, a.title)),
      h("td", {}, can("readHouseholds")
        ? h("a", { href: `#/households/${encodeURIComponent(a.householdId)}` }, a.householdId)
        : a.householdId, a.memberId ? ` · ${a.memberId}` : ""),
      h("td", {}, a.regionCode),
      h("td", {}, String(a.events.length)),
      h("td", {}, alertBadge(a.status))));
    showPage(list, { after, rows, pageInfo: conn.pageInfo, moreText: t("more"),
      more: (cursor) => load(cursor).catch(show),
      whole: () => [
        h("p", { class: "help", "data-testid": "alert-total" }, `${t("total")} ${conn.totalCount}`),
        rows.length ? h("div", { class: "table-wrap" }, h("table", { id: "alerts" },
          h("thead", {}, h("tr", {}, h("th", {}, t("raisedAt")), h("th", {}, t("alertKind")),
            h("th", {}, `${t("household")} · ${t("member")}`), h("th", {}, t("regionFilter")),
            h("th", {}, t("eventCount")), h("th", {}, t("status")))),
          h("tbody", {}, rows))) : h("p", {}, t("noAlerts"))] });
  };
  const show = (exc) => fill(list, h("p", { class: "error", role: "alert" }, exc.message));
  const search = () => {
    filter.status = status.value;
    filter.region = region.value.trim();
    filter.rule = rule.value;
    return Promise.all([loadCounts(), load(null)]).catch(show);
  };
  fill(main, h("h1", {}, t("alertsTitle")),
    h("p", { class: "help" }, t("alertsHelp")),
    h("form", { class: "card row", onsubmit: (e) => { e.preventDefault(); search(); } },
      h("div", { class: "field" }, h("label", { for: "alert-status" }, t("status")), status),
      h("div", { class: "field" }, h("label", { for: "alert-region" }, t("regionFilter")), region),
      h("div", { class: "field" }, h("label", { for: "alert-rule" }, t("alertKind")), rule),
      h("button", { type: "submit", class: "primary" }, t("search"))),
    counts, list);
  await search();
}

// ------------------------------------------------------------------ one alert

const ALERT_FIELDS = `id rule cause title(lang: $lang) status householdId regionCode memberId
  raisedAt updatedAt resolvedBy resolvedAt resolutionNote ruleSetVersionId
  suggestedFacts { fact value }
  reasons { ${REASON_FIELDS} }
  events { id source eventId eventKind memberId occurredOn amount value receivedAt }
  household { monitoringCases { id alertId kind status step } }`;

export async function renderAlert(main, id, flash = "") {
  const data = await gql(`query($id: ID!, $lang: Lang!) { alert(id: $id) { ${ALERT_FIELDS} } }`,
    { id, lang: apiLang() });
  const a = data.alert;
  if (!a) {
    fill(main, h("h1", {}, t("alertsTitle")),
      h("p", { class: "error", role: "alert", "data-testid": "not-found" }, t("alertNotFound")));
    return;
  }
  const reeval = h("section", { id: "reevaluation", "aria-live": "polite" });
  const reevalDate = h("input", { id: "reeval-as-of", type: "date", value: today() });
  fill(main,
    h("p", {}, h("a", { href: "#/alerts" }, `← ${t("alertsTitle")}`)),
    h("h1", {}, `${a.title} `, alertBadge(a.status)),
    h("p", { id: "resolve-done", class: "ok", role: "status" }, flash),
    h("dl", { class: "meta stats", id: "alert-meta" },
      meta(t("household"), can("readHouseholds")
        ? h("a", { href: `#/households/${encodeURIComponent(a.householdId)}` }, a.householdId)
        : a.householdId),
      meta(t("regionFilter"), a.regionCode), meta(t("member"), a.memberId),
      meta(t("raisedAt"), when(a.raisedAt)), meta(t("updatedAt"), when(a.updatedAt)),
      meta(t("alertRule"), h("code", {}, a.rule)),
      meta(t("alertCause"), h("span", { title: a.cause, "data-cause": a.cause }, causeText(a.cause))),
      a.resolvedBy ? meta(t("resolvedBy"), `${a.resolvedBy.split(":").slice(-1)[0]} · ${when(a.resolvedAt)}`) : null),
    a.resolutionNote ? h("p", { class: "card", id: "resolution-note" },
      h("strong", {}, `${t("resolutionNote")}${t("colon")}`), a.resolutionNote) : null,
    alertCase(a),
    resolveBox(main, a),
    h("section", { class: "card", id: "alert-events" },
      h("h2", {}, `${t("alertEvents")} (${a.events.length})`),
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", {}, t("occurredOn")), h("th", {}, t("eventSource")),
          h("th", {}, t("eventKind")), h("th", {}, t("member")), h("th", {}, t("eventValue")),
          h("th", {}, t("receivedAt")))),
        h("tbody", {}, a.events.map((e) => h("tr", { "data-event": e.eventId },
          h("td", {}, e.occurredOn), h("td", {}, e.source),
          h("td", {}, label("eventKind", e.eventKind)), h("td", {}, e.memberId || "—"),
          h("td", {}, eventValue(e)), h("td", {}, when(e.receivedAt)))))))),
    h("section", { class: "card", id: "alert-reasons" },
      h("h2", {}, t("alertWhy")),
      a.reasons.map((r) => reasonBlock(r))),
    a.suggestedFacts.length ? h("section", { class: "card", id: "suggested-facts" },
      h("h2", {}, t("suggestedFacts")),
      h("p", { class: "help" }, t("suggestedHelp")),
      h("ul", {}, a.suggestedFacts.map((f) => h("li", {}, `${factName(f.fact)}${t("colon")}${factValue(f.fact, f.value)}`))),
      can("readHouseholds") ? h("form", { class: "row", onsubmit: async (e) => {
        e.preventDefault();
        try {
          const out = await gql(`query($id: ID!, $asOf: Date!, $lang: Lang!) { alert(id: $id) {
            reevaluation(asOf: $asOf) { ${DETERMINATION_FIELDS} } } }`,
          { id: a.id, asOf: reevalDate.value, lang: apiLang() });
          fill(reeval, h("h3", {}, `${t("reevaluation")} · ${reevalDate.value}`), h("div", {}));
          await renderDetermination(reeval.lastChild, out.alert.reevaluation);
        } catch (exc) {
          fill(reeval, h("p", { class: "error", role: "alert" }, exc.message));
        }
      } },
      h("div", { class: "field" }, h("label", { for: "reeval-as-of" }, t("asOf")), reevalDate),
      h("button", { type: "submit", id: "run-reevaluation" }, t("reevaluate"))) : null,
      reeval) : null);
}

/** The monitoring case the alert's inclusion opened, if any. */
function alertCase(a) {
  const cases = (a.household && a.household.monitoringCases) || [];
  const opened = cases.find((c) => c.alertId === a.id);
  if (!opened) return null;
  return h("p", { class: "card", id: "alert-case" }, `${t("alertCaseOpened")}${t("colon")}`,
    h("a", { href: `#/cases/${encodeURIComponent(opened.id)}` },
      `${label("caseKind", opened.kind)} · ${label("caseStatus", opened.status)}`
      + (opened.status === "OPEN" ? ` · ${label("caseStep", opened.step)}` : "")));
}

function eventValue(e) {
  if (e.amount !== null && e.amount !== undefined) {
    return `${yuan(cents(e.amount))} ${t("yuan")}`;
  }
  return e.value ?? "—";
}

function meta(name, value) {
  return h("div", { class: "stat" }, h("dt", { class: "help" }, name), h("dd", {}, value ?? "—"));
}

/** The caseworker's decision: only the moves the alert's state allows, for those who may act. */
function resolveBox(main, a) {
  if (!can("resolveAlerts") || (a.status !== "OPEN" && a.status !== "VERIFIED")) return null;
  const note = h("textarea", { id: "resolution-note-input", rows: 2, maxlength: 2000,
    "aria-describedby": "resolution-note-input-error" });
  const noteError = h("p", { id: "resolution-note-input-error", class: "field-error", role: "alert" });
  const noteField = h("div", { class: "field", "data-field": "note" },
    h("label", { for: "resolution-note-input" }, t("resolutionNote")), note, noteError);
  const status = h("p", { id: "resolve-status", role: "status", "aria-live": "polite" });
  const markNote = (text) => {
    fill(noteError, text || "");
    noteField.classList.toggle("invalid", Boolean(text));
    if (text) note.setAttribute("aria-invalid", "true");
    else note.removeAttribute("aria-invalid");
  };
  note.addEventListener("input", () => { if (note.value.trim()) markNote(""); });
  const decide = (resolution) => async () => {
    markNote("");
    fill(status, "");
    if (resolution === "DISMISSED" && !note.value.trim()) {
      markNote(t("noteRequired"));
      note.focus();
      return;
    }
    try {
      const out = (await gql(`mutation($id: ID!, $resolution: AlertResolution!, $note: String) {
        alertResolve(id: $id, resolution: $resolution, note: $note) { alert { id status }
        userErrors { field errorCode message } } }`,
      { id: a.id, resolution, note: note.value.trim() || null })).alertResolve;
      if (out.userErrors.length) {
        const e = out.userErrors[0];
        throw new ApiError(out.userErrors.map((x) => x.message).join("; "), e.errorCode, out.userErrors);
      }
      await renderAlert(main, a.id, `${t("done")}${t("colon")}${label("alertStatus", out.alert.status)}`);
    } catch (exc) {
      const onNote = exc instanceof ApiError && exc.fieldErrors.find((f) => f.field === "note");
      if (onNote) markNote(onNote.message);
      else fill(status, h("span", { class: "error", role: "alert" }, exc.message));
    }
  };
  return h("section", { class: "card", id: "resolve-box" },
    h("h2", {}, t("resolveTitle")),
    h("p", { class: "help" }, a.status === "OPEN" ? t("resolveHelpOpen") : t("resolveHelpVerified")),
    noteField,
    h("div", { class: "actions" },
      a.status === "OPEN" ? h("button", { type: "button", id: "resolve-verify", class: "primary",
        onclick: decide("VERIFIED") }, t("resolveVerify")) : null,
      a.status === "VERIFIED" ? h("button", { type: "button", id: "resolve-include", class: "primary",
        onclick: decide("INCLUDED") }, t("resolveInclude")) : null,
      h("button", { type: "button", id: "resolve-dismiss", class: "danger",
        onclick: decide("DISMISSED") }, t("resolveDismiss"))),
    status);
}

/** A household's alerts, for its page. */
export function householdAlerts(alerts) {
  if (!alerts.length) return h("p", { class: "help" }, t("noAlerts"));
  return h("div", { class: "table-wrap" }, h("table", { id: "household-alerts" },
    h("thead", {}, h("tr", {}, h("th", {}, t("raisedAt")), h("th", {}, t("alertKind")),
      h("th", {}, t("member")), h("th", {}, t("status")))),
    h("tbody", {}, alerts.map((a) => h("tr", {},
      h("td", {}, when(a.raisedAt)),
      h("td", {}, h("a", { href: `#/alerts/${encodeURIComponent(a.id)}` }, a.title)),
      h("td", {}, a.memberId || "—"), h("td", {}, alertBadge(a.status)))))));
}
