// Saved households of one's own regions: search by id and region (paged), a household's facts
// and past determinations, replay of a recorded determination, a new recorded determination.

import { ApiError, gql } from "./api.js";
import { can } from "./app.js";
import { fill, h } from "./dom.js";
import { apiLang, t } from "./i18n.js";
import { loadIntoCheck } from "./check.js";
import { fromJson } from "./facts.js";
import { householdAlerts } from "./alerts.js";
import { householdCases } from "./cases.js";
import { HOUSEHOLD_HISTORY_FIELDS, assistanceBox, timeline, visitForm } from "./visits.js";
import { yuan } from "./money.js";
import { DETERMINATION_FIELDS, renderDetermination, totals } from "./result.js";

const PAGE = 20;
const search = { idPrefix: "", region: "" };

export async function renderHouseholds(main) {
  const list = h("div", { id: "household-list", "aria-live": "polite" });
  const idInput = h("input", { id: "hh-id", type: "text", value: search.idPrefix });
  const regionInput = h("input", { id: "hh-region", type: "text", value: search.region });
  let cursors = [null];
  const load = async (after) => {
    search.idPrefix = idInput.value.trim();
    search.region = regionInput.value.trim();
    const filter = {};
    if (search.idPrefix) filter.idPrefix = search.idPrefix;
    if (search.region) filter.regionCodes = [search.region];
    const data = await gql(`query($first: Int!, $after: String, $filter: HouseholdFilter) {
      households(first: $first, after: $after, filter: $filter) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { node { id regionCode revision updatedAt } } } }`,
    { first: PAGE, after, filter });
    const conn = data.households;
    fill(list,
      h("p", { class: "help" }, `${t("total")} ${conn.totalCount}`),
      conn.edges.length ? h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", {}, t("idPrefix")), h("th", {}, t("regionFilter")),
          h("th", {}, t("revision")), h("th", {}, t("updatedAt")))),
        h("tbody", {}, conn.edges.map(({ node }) => h("tr", {},
          h("td", {}, h("a", { href: `#/households/${encodeURIComponent(node.id)}` }, node.id)),
          h("td", {}, node.regionCode), h("td", {}, node.revision),
          h("td", {}, node.updatedAt.slice(0, 19).replace("T", " "))))))) : h("p", {}, t("noHouseholds")),
      conn.pageInfo.hasNextPage ? h("button", { type: "button", onclick: () => {
        cursors.push(conn.pageInfo.endCursor);
        load(conn.pageInfo.endCursor);
      } }, t("more")) : null);
  };
  const form = h("form", { class: "card row", onsubmit: (e) => {
    e.preventDefault();
    cursors = [null];
    load(null).catch((exc) => fill(list, h("p", { class: "error", role: "alert" }, exc.message)));
  } },
  h("div", { class: "field" }, h("label", { for: "hh-id" }, t("idPrefix")), idInput),
  h("div", { class: "field" }, h("label", { for: "hh-region" }, t("regionFilter")), regionInput),
  h("button", { type: "submit", class: "primary" }, t("search")));
  fill(main, h("h1", {}, t("householdsTitle")), form, list);
  await load(null);
}

const RECORD_FIELDS = `id asOf createdAt createdBy householdRevision
  versions { ruleSet version contentHash }`;

export async function renderHousehold(main, id, flash = "") {
  const data = await gql(`query($id: ID!, $lang: Lang!) { household(id: $id) {
    id regionCode revision updatedAt facts
    determinationRecords(first: 100) { totalCount edges { node { ${RECORD_FIELDS} } } }
    alerts { id title(lang: $lang) status memberId raisedAt }
    monitoringCases { id kind channel status step openedOn overdue }
    ${HOUSEHOLD_HISTORY_FIELDS} } }`, { id, lang: apiLang() });
  const hh = data.household;
  if (hh) hh.determinations = hh.determinationRecords.edges.map((e) => e.node);
  if (!hh) {
    fill(main, h("h1", {}, id), h("p", { class: "error", role: "alert", "data-testid": "not-found" },
      t("notFound")));
    return;
  }
  const detail = h("section", { id: "record-detail", "aria-live": "polite" });
  const asOf = h("input", { id: "det-as-of", type: "date",
    value: new Date().toISOString().slice(0, 10) });
  const status = h("p", { class: "help", role: "status" });
  const records = h("div", {});
  const showRecords = (list) => fill(records, list.length ? h("div", { class: "table-wrap" },
    h("table", { id: "records" },
      h("thead", {}, h("tr", {}, h("th", {}, t("asOf")), h("th", {}, t("createdAt")),
        h("th", {}, t("createdBy")), h("th", {}, t("revision")), h("th", {}, t("versionsUsed")),
        h("th", {}, ""))),
      h("tbody", {}, list.map((r) => h("tr", {},
        h("td", {}, r.asOf), h("td", {}, r.createdAt.slice(0, 19).replace("T", " ")),
        h("td", {}, r.createdBy), h("td", {}, r.householdRevision ?? ""),
        h("td", {}, r.versions.map((v) => `${v.ruleSet} v${v.version} ${v.contentHash.slice(0, 8)}`)
          .join(t("semi"))),
        h("td", {}, h("button", { type: "button", class: "link",
          onclick: () => replay(detail, r.id) }, t("replay")))))))) : h("p", { class: "help" }, "—"));
  showRecords(hh.determinations);
  fill(main,
    h("h1", {}, `${hh.id} · ${hh.regionCode}`),
    h("p", { class: "help" }, `${t("revision")} ${hh.revision} · ${t("updatedAt")} `
      + hh.updatedAt.slice(0, 19).replace("T", " ")
      + (hh.facts.monitored ? ` · ${t("monitoredSince")} ${hh.facts.monitoredSince || "—"}` : "")),
    h("p", { id: "household-done", class: "ok", role: "status" }, flash),
    h("div", { class: "actions" },
      can("evaluate") ? h("button", { type: "button", onclick: () => {
        loadIntoCheck(fromJson(hh.facts));
        location.hash = "#/check";
      } }, t("editInCheck")) : null,
      can("openCases") ? h("a", { class: "button", id: "open-case",
        href: `#/cases/new/${encodeURIComponent(hh.id)}` }, t("openCase")) : null),
    can("saveHouseholds") ? h("form", { class: "card row", onsubmit: async (e) => {
      e.preventDefault();
      try {
        const out = await gql(`mutation($id: ID!, $asOf: Date!, $lang: Lang!) {
          householdDetermine(id: $id, asOf: $asOf) { record { ${RECORD_FIELDS} }
          determination { ${DETERMINATION_FIELDS} } userErrors { field errorCode message } } }`,
        { id: hh.id, asOf: asOf.value, lang: apiLang() });
        const p = out.householdDetermine;
        if (p.userErrors.length) throw new ApiError(p.userErrors[0].message, p.userErrors[0].errorCode);
        hh.determinations.unshift(p.record);
        showRecords(hh.determinations);
        fill(status, t("recorded"));
        await renderDetermination(detail, p.determination);
      } catch (exc) {
        fill(status, h("span", { class: "error" }, exc.message));
      }
    } },
    h("div", { class: "field" }, h("label", { for: "det-as-of" }, t("asOf")), asOf),
    h("button", { type: "submit", class: "primary" }, t("determineNow"))) : null,
    status,
    h("h2", {}, t("determinations")), records,
    detail,
    assistanceBox(hh, (text) => renderHousehold(main, hh.id, text)),
    can("openCases") ? visitForm(hh, (text) => renderHousehold(main, hh.id, text)) : null,
    h("section", { id: "timeline-box" }, h("h2", {}, t("timelineTitle")), timeline(hh.timeline)),
    can("readCases") ? h("section", { id: "household-cases-box" },
      h("h2", {}, t("casesTitle")), householdCases(hh.monitoringCases)) : null,
    can("readAlerts") ? h("section", { id: "household-alerts-box" },
      h("h2", {}, t("alertsTitle")), householdAlerts(hh.alerts)) : null);
}

async function replay(detail, recordId) {
  const data = await gql(`query($id: ID!, $lang: Lang!) { determinationRecord(id: $id) {
    id asOf result replay { identical determination { ${DETERMINATION_FIELDS} } } } }`,
  { id: recordId, lang: apiLang() });
  const rec = data.determinationRecord;
  const body = h("div", {});
  const sum = totals(rec.replay.determination);
  fill(detail,
    h("h2", {}, `${t("replay")} · ${rec.asOf}`),
    h("p", { class: rec.replay.identical ? "ok" : "error", role: "status", "data-testid": "replay" },
      rec.replay.identical ? t("replayIdentical") : t("replayDiffers"),
      ` · ${t("yearlyTotal")} ${yuan(sum.yearly)} ${t("yuan")}`),
    body);
  await renderDetermination(body, rec.replay.determination);
}
