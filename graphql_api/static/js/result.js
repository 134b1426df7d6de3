// A determination as a caseworker reads it: by program, granted items per member with amounts,
// reasons (conditions with actual values against thresholds) and citations; items not granted
// with the conditions that failed; undetermined items with the facts to collect; a yearly total.

import { gql } from "./api.js";
import { fill, h } from "./dom.js";
import { factName } from "./facts.js";
import { apiLang, currentLang, label, paren, t } from "./i18n.js";
import { cents, yuan } from "./money.js";

// A condition tree to this many levels (GraphQL has no recursive selections); deeper nodes are
// shown by their expression and result only.
const TREE_LEVELS = 7;
const NODE = "expression text(lang: $lang) actualText(lang: $lang) kind result actual expected "
  + "decided memberIds";

/** A condition node's fields and its children's, ``levels`` deep. */
export function treeSelection(levels) {
  return levels === 0 ? NODE : `${NODE} children { ${treeSelection(levels - 1)} }`;
}

export const DETERMINATION_FIELDS = `
  asOf flaggedForMonitoring flaggedBy
  programs {
    program
    ruleSetVersion { id ruleSet version contentHash effectiveFrom }
    outcomes {
      code title(lang: $lang) memberId status amount period missingFacts amountIsSample
      terms { key value unit sample label(lang: $lang) unitLabel(lang: $lang) }
      whatWouldChange { fact operator value current text(lang: $lang) }
      reasons {
        ruleId text(lang: $lang)
        citation { document clause quote url }
        condition(depth: null) { ${treeSelection(TREE_LEVELS)} }
      }
    }
  }`;

const titles = {};

/** Program titles in the current language (from the rule sets). */
export async function programTitles() {
  const lang = currentLang();
  if (!titles[lang]) {
    try {
      const data = await gql(`query($lang: Lang!) { ruleSets { code title(lang: $lang) } }`,
        { lang: apiLang() });
      titles[lang] = Object.fromEntries(data.ruleSets.map((r) => [r.code, r.title]));
    } catch (exc) {
      titles[lang] = {};
    }
  }
  return titles[lang];
}

/** Yearly total (monthly amounts twelve times) and one-off total, in cents. */
export function totals(det) {
  let yearly = 0;
  let once = 0;
  for (const p of det.programs) {
    for (const o of p.outcomes) {
      if (o.status !== "GRANTED" || o.amount === null || o.amount === undefined) continue;
      if (o.period === "MONTH") yearly += cents(o.amount) * 12;
      else if (o.period === "YEAR") yearly += cents(o.amount);
      else once += cents(o.amount);
    }
  }
  return { yearly, once };
}

/** A tier's term in words, by the labels the API gives (the term catalogue,
 * fixtures/terms.yaml): 救助比例 70%, 起付线 0.00 元. */
export function termText(x) {
  const value = x.unit === "ratio" ? `${Math.round(x.value * 10000) / 100}%`
    : x.unit.startsWith("yuan") ? `${yuan(cents(x.value))} ${x.unitLabel}`
      : `${x.value} ${x.unitLabel}`;
  return `${x.label} ${value}${x.sample ? paren(t("sample")) : ""}`;
}

export function amountText(o) {
  if (o.amount === null || o.amount === undefined) {
    return o.terms.length ? o.terms.map(termText).join(t("semi")) : t("inKind");
  }
  const unit = o.period === "MONTH" ? t("perMonth") : o.period === "YEAR" ? t("perYear") : t("once");
  return `${yuan(cents(o.amount))} ${unit}`;
}

// Node kinds whose operands are conditions (shown as branches); the others are values, shown
// inside their comparison's line.
const LOGICAL = new Set(["AND", "OR", "NOT", "ANY_MEMBER", "ALL_MEMBERS", "DEFINITION", "PRIORITY"]);

function mark(result) {
  return result === true ? "✓" : result === false ? "✗" : "?";
}

/** A condition tree as nested lists: which branch carried it, actual values against thresholds.
 * Each condition in words (facts and values by their labels, the threshold by its value), the
 * condition as the rule set writes it in the node's title. */
export function conditionTree(node) {
  const state = node.result === true ? "pass" : node.result === false ? "fail" : "unknown";
  const logical = LOGICAL.has(node.kind) || (node.kind === "FACT" && node.children.length
    && node.children.some((c) => c.result !== null));
  const members = node.memberIds.length ? ` [${node.memberIds.join(", ")}]` : "";
  const detail = !LOGICAL.has(node.kind) && (node.actual !== null || node.expected)
    ? h("span", { class: "cond-values" }, ` — ${t("actual")} ${node.actualText ?? t("unknown")}`)
    : null;
  const children = logical ? (node.children || []).filter((c) => c.result !== null || LOGICAL.has(c.kind)) : [];
  return h("li", { class: `node ${state} ${node.decided ? "decided" : "undecided"}`,
    "data-kind": node.kind },
  h("span", { class: "mark", "aria-label": node.result === true ? t("passed")
    : node.result === false ? t("failed") : t("unknown") }, mark(node.result)), " ",
  h("span", { class: "cond-text", title: node.expression }, node.text), members, detail,
  node.kind === "OR" && node.result === true ? h("span", { class: "help" }, ` (${t("orCarried")})`) : null,
  children.length ? h("ul", { class: "tree" }, children.map(conditionTree)) : null);
}

function conditionRow(c) {
  const mark = c.passed === true ? "✓" : c.passed === false ? "✗" : "?";
  const state = c.passed === true ? "pass" : c.passed === false ? "fail" : "unknown";
  return h("tr", { class: `cond ${state}` },
    h("td", { class: "mark", "aria-label": c.passed === true ? t("passed")
      : c.passed === false ? t("failed") : t("unknown") }, mark),
    h("td", {}, h("code", {}, c.expression)),
    h("td", {}, c.actual ?? t("unknown")),
    h("td", {}, c.expected ?? ""));
}

function citationBlock(c) {
  return h("blockquote", { class: "citation" },
    h("div", { class: "cite-doc" }, `${t("citation")}${t("colon")}${c.document}${c.clause ? ` ${c.clause}` : ""}`),
    c.quote ? h("div", { class: "cite-quote" }, c.quote) : null);
}

export function reasonBlock(r) {
  return h("div", { class: "reason" },
    h("div", { class: "reason-text" }, r.text, " ", h("span", { class: "rule-id" }, `(${r.ruleId})`)),
    r.condition ? h("ul", { class: "tree root" }, conditionTree(r.condition))
      : r.conditions ? h("table", { class: "conditions" },
        h("tbody", {}, r.conditions.map(conditionRow))) : null,
    citationBlock(r.citation));
}

function changes(o) {
  const list = o.whatWouldChange || [];
  if (!list.length) return null;
  return h("div", { class: "what-would-change" }, h("h4", {}, t("whatWouldChange")),
    h("ul", {}, list.map((c) => h("li", {}, c.text))));
}

function sampleMark(o) {
  return o.amountIsSample || (o.terms || []).some((x) => x.sample)
    ? h("span", { class: "badge undetermined sample", title: t("sampleNote") }, t("sample")) : null;
}

function who(o) {
  return o.memberId ? `${t("member")} ${o.memberId}` : t("household");
}

function outcomeItem(o) {
  const open = false;
  if (o.status === "GRANTED") {
    return h("li", { class: "outcome granted", "data-code": o.code, "data-member": o.memberId || "" },
      h("details", { open },
        h("summary", {},
          h("span", { class: "badge granted" }, label("status", o.status)), " ",
          h("strong", {}, o.title), " · ", who(o), " · ",
          h("span", { class: "amount" }, amountText(o)), " ", sampleMark(o)),
        h("h4", {}, t("why")),
        o.reasons.map((r) => reasonBlock(r))));
  }
  if (o.status === "UNDETERMINED") {
    return h("li", { class: "outcome undetermined", "data-code": o.code },
      h("details", { open },
        h("summary", {}, h("span", { class: "badge undetermined" }, label("status", o.status)),
          " ", h("strong", {}, o.title), " · ", who(o), " · ",
          `${t("missing")}${t("colon")}${o.missingFacts.map(factName).join(t("listSep"))}`),
        changes(o),
        o.reasons.map((r) => reasonBlock(r))));
  }
  return h("li", { class: "outcome not-granted", "data-code": o.code },
    h("details", {},
      h("summary", {}, h("span", { class: "badge not-granted" }, label("status", o.status)),
        " ", o.title, " · ", who(o)),
      changes(o),
      h("h4", {}, t("whyNot")),
      o.reasons.map((r) => reasonBlock(r))));
}

/** The monitoring categories and risk items that flagged the household, by their titles
 * (the outcomes' own), their codes when a selection left the outcome out. */
function flaggedBy(det) {
  const titles = Object.fromEntries(det.programs.flatMap((p) => p.outcomes)
    .map((o) => [o.code, o.title]));
  return det.flaggedBy.map((code) => titles[code] || code).join(t("listSep"));
}

/** The determination, grouped by program, into el. */
export async function renderDetermination(el, det) {
  const names = await programTitles();
  const sum = totals(det);
  fill(el,
    h("div", { class: `flag ${det.flaggedForMonitoring ? "on" : "off"}`, role: "status" },
      det.flaggedForMonitoring ? t("flagged") : t("notFlagged"),
      det.flaggedBy.length ? ` — ${t("flaggedBy")}${t("colon")}${flaggedBy(det)}` : ""),
    h("p", { class: "total", "data-testid": "yearly-total" },
      `${t("yearlyTotal")}${t("colon")}`, h("strong", {}, `${yuan(sum.yearly)} ${t("yuan")}`),
      h("span", { class: "help" }, paren(t("monthlyTimes12"))),
      sum.once ? ` · ${t("oneOffTotal")}${t("colon")}${yuan(sum.once)} ${t("yuan")}` : ""),
    det.programs.map((p) => {
      const granted = p.outcomes.filter((o) => o.status === "GRANTED");
      const open = p.outcomes.filter((o) => o.status === "UNDETERMINED");
      const refused = p.outcomes.filter((o) => o.status === "NOT_GRANTED");
      return h("section", { class: "program card", "data-program": p.program },
        h("h3", {}, names[p.program] || p.program, " ",
          h("span", { class: "version" },
            `${t("version")} ${p.ruleSetVersion.version} · ${p.ruleSetVersion.contentHash.slice(0, 12)}`)),
        granted.length ? null : h("p", { class: "help" }, t("nothingGranted")),
        h("ul", { class: "outcomes" }, granted.map(outcomeItem), open.map(outcomeItem)),
        refused.length ? h("details", { class: "refused" },
          h("summary", {}, `${t("notGranted")} (${refused.length})`),
          h("ul", { class: "outcomes" }, refused.map(outcomeItem))) : null);
    }));
}

/** The one-page paper summary, into #print-area. */
export async function renderPrintSummary(det, household) {
  const names = await programTitles();
  const sum = totals(det);
  const area = document.getElementById("print-area");
  const granted = det.programs.flatMap((p) => p.outcomes
    .filter((o) => o.status === "GRANTED").map((o) => [p, o]));
  fill(area,
    h("h1", {}, t("printTitle")),
    h("p", {}, `${t("household")} ${household.id} · ${household.regionCode || ""} · `
      + `${t("asOf")} ${det.asOf} · ${t("printedOn")} ${new Date().toISOString().slice(0, 10)}`),
    h("p", {}, det.flaggedForMonitoring ? t("flagged") : t("notFlagged"),
      det.flaggedBy.length ? paren(flaggedBy(det)) : ""),
    h("table", { class: "print-table" },
      h("thead", {}, h("tr", {}, h("th", {}, t("program")), h("th", {}, t("item")),
        h("th", {}, t("who")), h("th", {}, t("amount")), h("th", {}, t("citation")))),
      h("tbody", {}, granted.map(([p, o]) => h("tr", {},
        h("td", {}, names[p.program] || p.program), h("td", {}, o.title), h("td", {}, who(o)),
        h("td", {}, amountText(o), o.amountIsSample ? paren(t("sample")) : ""),
        h("td", {}, o.reasons.map((r) => `${r.citation.document} ${r.citation.clause || ""}`)
          .join(t("semi"))))))),
    h("p", { class: "total" }, `${t("yearlyTotal")}${t("colon")}${yuan(sum.yearly)} ${t("yuan")}`,
      sum.once ? `${t("semi")}${t("oneOffTotal")}${t("colon")}${yuan(sum.once)} ${t("yuan")}` : ""),
    h("h2", {}, t("versionsUsed")),
    h("ul", {}, det.programs.map((p) => h("li", {},
      `${names[p.program] || p.program} ${t("version")} ${p.ruleSetVersion.version}`
      + `${paren(`${t("effectiveFrom")} ${p.ruleSetVersion.effectiveFrom || "-"}`)} `
      + `${t("contentHash")} ${p.ruleSetVersion.contentHash}`))),
    h("p", { class: "signature" }, `${t("signature")}${t("colon")}________________`));
  area.setAttribute("aria-hidden", "false");
}

export { apiLang };
