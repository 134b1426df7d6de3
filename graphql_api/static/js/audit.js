// The audit log for auditors: filtered by actor, object and date, newest first, paged.

import { gql } from "./api.js";
import { fill, h, showPage } from "./dom.js";
import { t } from "./i18n.js";

const PAGE = 50;
const filter = { actor: "", objectType: "", objectId: "", action: "", since: "", until: "" };

export async function renderAudit(main) {
  const list = h("div", { id: "audit-list", "aria-live": "polite" });
  const inputs = {};
  const field = (name, type = "text") => {
    inputs[name] = h("input", { id: `audit-${name}`, type, value: filter[name] });
    return h("div", { class: "field" }, h("label", { for: `audit-${name}` }, t(`audit_${name}`)),
      inputs[name]);
  };
  const load = async (after) => {
    const f = {};
    for (const [name, input] of Object.entries(inputs)) {
      filter[name] = input.value.trim();
      if (filter[name]) f[name] = filter[name];
    }
    const data = await gql(`query($first: Int!, $after: String, $filter: AuditLogFilter) {
      auditLog(first: $first, after: $after, filter: $filter) {
        pageInfo { hasNextPage endCursor }
        edges { node { id at actor action objectType objectId details } } } }`,
    { first: PAGE, after, filter: f });
    const conn = data.auditLog;
    const rows = conn.edges.map(({ node }) => h("tr", {},
      h("td", {}, node.at.slice(0, 19).replace("T", " ")), h("td", {}, node.actor),
      h("td", {}, h("code", {}, node.action)), h("td", {}, node.objectType),
      h("td", {}, h("code", {}, node.objectId)),
      h("td", {}, h("code", { class: "details" }, JSON.stringify(node.details)))));
    showPage(list, { after, rows, pageInfo: conn.pageInfo, moreText: t("more"),
      more: (cursor) => load(cursor),
      whole: () => [rows.length ? h("div", { class: "table-wrap" }, h("table", { id: "audit" },
        h("thead", {}, h("tr", {}, h("th", {}, t("audit_at")), h("th", {}, t("audit_actor")),
          h("th", {}, t("audit_action")), h("th", {}, t("audit_objectType")),
          h("th", {}, t("audit_objectId")), h("th", {}, t("audit_details")))),
        h("tbody", {}, rows))) : h("p", {}, t("auditEmpty"))] });
  };
  fill(main, h("h1", {}, t("navAudit")),
    h("form", { class: "card grid", onsubmit: (e) => {
      e.preventDefault();
      load(null).catch((exc) => fill(list, h("p", { class: "error", role: "alert" }, exc.message)));
    } },
    field("actor"), field("objectType"), field("objectId"), field("action"),
    field("since", "date"), field("until", "date"),
    h("div", { class: "field" }, h("button", { type: "submit", class: "primary" }, t("search")))),
    list);
  await load(null);
}
