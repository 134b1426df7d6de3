// The console's shell: sign-in, the menu the caller's role allows, hash routes, language switch.

import { ApiError, gql, setToken, token } from "./api.js";
import { fill, h } from "./dom.js";
import { currentLang, label, setLang, t } from "./i18n.js";
import { renderCheck } from "./check.js";
import { renderHouseholds, renderHousehold } from "./households.js";
import { renderRuleSets, renderVersion, renderQueue } from "./rulesets.js";
import { renderQuery } from "./query.js";
import { renderAudit } from "./audit.js";
import { renderAlert, renderAlerts } from "./alerts.js";
import { renderCase, renderCaseOpen, renderCases } from "./cases.js";

export const session = { viewer: null };

const VIEWER = `{ viewer { name userRole regions department abilities } }`;

async function loadViewer() {
  try {
    const v = (await gql(VIEWER)).viewer;
    // The console names roles as the API's role strings do (caseworker, policy_editor, ...):
    // a Role value (CASEWORKER) in lower case.
    session.viewer = { ...v, role: v.userRole ? v.userRole.toLowerCase() : null };
  } catch (exc) {
    session.viewer = null;
    if (token()) {
      setToken("");
      throw exc;
    }
  }
}

export function can(ability) {
  return Boolean(session.viewer && session.viewer.abilities.includes(ability));
}

function menu() {
  const items = [];
  if (can("evaluate")) items.push(["#/check", t("navCheck")]);
  if (can("readHouseholds")) items.push(["#/households", t("navHouseholds")]);
  if (can("readAlerts")) items.push(["#/alerts", t("navAlerts")]);
  if (can("readCases")) items.push(["#/cases", t("navCases")]);
  if (can("townshipReview")) items.push(["#/review-township", t("navTownship")]);
  if (can("countyApproval")) items.push(["#/review-county", t("navCounty")]);
  if (can("readRuleSets")) items.push(["#/rulesets", t("navRuleSets")]);
  if (can("approve")) items.push(["#/queue", t("navQueue")]);
  if (can("readAudit")) items.push(["#/audit", t("navAudit")]);
  items.push(["#/query", t("navQuery")]);
  const here = location.hash.split("/").slice(0, 2).join("/");
  return h("ul", {},
    items.map(([href, text]) => h("li", {},
      h("a", { href, "aria-current": here === href ? "page" : null }, text))));
}

function whoBox() {
  const v = session.viewer;
  if (!v || !v.role) {
    return [h("span", {}, t("anonymous")), " ",
      h("a", { href: "#/signin", class: "button" }, t("signIn"))];
  }
  const scope = v.regions.length ? `${t("regions")}: ${v.regions.join(", ")}`
    : v.department ? `${t("department")}: ${v.department}` : "";
  return [
    h("span", { class: "who-name", "data-testid": "who" }, `${v.name} · ${label("role", v.role)}`),
    scope ? h("span", { class: "who-scope" }, scope) : null,
    h("button", { type: "button", onclick: signOut }, t("signOut")),
  ];
}

function signOut() {
  setToken("");
  session.viewer = null;
  location.hash = "#/signin";
  route();
}

function renderSignIn(main, problem) {
  const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "off",
    required: true, "aria-describedby": "token-help token-error" });
  const error = h("p", { id: "token-error", class: "field-error", role: "alert" }, problem || "");
  const form = h("form", {
    class: "card narrow",
    onsubmit: async (event) => {
      event.preventDefault();
      setToken(input.value.trim());
      try {
        await loadViewer();
      } catch (exc) {
        fill(error, t("badToken"));
        return;
      }
      location.hash = home();
    },
  },
  h("h1", {}, t("signInTitle")),
  h("label", { for: "token" }, t("tokenLabel")), input,
  h("p", { id: "token-help", class: "help" }, t("signInHelp")),
  error,
  h("button", { type: "submit", class: "primary" }, t("signIn")));
  fill(main, form);
  input.focus();
}

/** The first page of the signed-in viewer's role. */
function home() {
  const role = session.viewer && session.viewer.role;
  if (role === "auditor") return "#/audit";
  if (can("townshipReview")) return "#/review-township";
  if (can("countyApproval")) return "#/review-county";
  return can("evaluate") && role !== "policy_editor" && role !== "policy_approver"
    ? "#/check" : "#/rulesets";
}

function abilitiesNote() {
  const v = session.viewer;
  if (!v || !v.role) return null;
  return h("p", { class: "help abilities" },
    `${t("mayDo")}: ${v.abilities.map((a) => label("ability", a)).join(t("listSep"))}`);
}

const ROUTES = [
  [/^#\/signin$/, (main) => renderSignIn(main)],
  [/^#\/check$/, (main) => renderCheck(main)],
  [/^#\/households$/, (main) => renderHouseholds(main)],
  [/^#\/households\/(.+)$/, (main, id) => renderHousehold(main, decodeURIComponent(id))],
  [/^#\/rulesets$/, (main) => renderRuleSets(main)],
  [/^#\/versions\/(.+)$/, (main, id) => renderVersion(main, decodeURIComponent(id))],
  [/^#\/queue$/, (main) => renderQueue(main)],
  [/^#\/query$/, (main) => renderQuery(main)],
  [/^#\/audit$/, (main) => renderAudit(main)],
  [/^#\/alerts$/, (main) => renderAlerts(main)],
  [/^#\/alerts\/(.+)$/, (main, id) => renderAlert(main, decodeURIComponent(id))],
  [/^#\/cases$/, (main) => renderCases(main)],
  [/^#\/review-township$/, (main) => renderCases(main, "TOWNSHIP_REVIEW")],
  [/^#\/review-county$/, (main) => renderCases(main, "COUNTY_APPROVAL")],
  [/^#\/cases\/new\/([^?]+)(?:\?(.*))?$/, (main, id, query) => renderCaseOpen(main,
    decodeURIComponent(id), Object.fromEntries(new URLSearchParams(query || "")))],
  [/^#\/cases\/(.+)$/, (main, id) => renderCase(main, decodeURIComponent(id))],
];

export async function route() {
  const main = document.getElementById("main");
  document.title = `${t("appTitle")}`;
  fill(document.getElementById("brand"), t("appTitle"));
  fill(document.getElementById("skip-link"), t("skip"));
  fill(document.getElementById("lang-label"), t("language"));
  fill(document.getElementById("nav"), menu());
  fill(document.getElementById("who"), whoBox());
  let hash = location.hash || "";
  if (!hash || hash === "#" || hash === "#/") {
    hash = session.viewer && session.viewer.role ? home() : "#/signin";
    history.replaceState(null, "", hash);
    fill(document.getElementById("nav"), menu());
  }
  for (const [pattern, render] of ROUTES) {
    const match = hash.match(pattern);
    if (match) {
      main.replaceChildren();
      try {
        await render(main, ...match.slice(1));
      } catch (exc) {
        fill(main, h("p", { class: "error", role: "alert" },
          `${t("error")}: ${exc instanceof ApiError ? exc.message : String(exc)}`));
      }
      const note = abilitiesNote();
      if (note && hash !== "#/signin") main.appendChild(note);
      return;
    }
  }
  fill(main, h("p", {}, "404"));
}

async function start() {
  const select = document.getElementById("lang");
  select.value = currentLang();
  setLang(currentLang());
  select.addEventListener("change", () => {
    setLang(select.value);
    route();
  });
  window.addEventListener("hashchange", route);
  try {
    await loadViewer();
  } catch (exc) {
    renderSignIn(document.getElementById("main"), t("badToken"));
    return;
  }
  await route();
}

start();
