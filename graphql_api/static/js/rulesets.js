// Rule sets for policy staff: every rule set with its versions; a version's page with the draft
// editor (parameters, conditions with their validation messages, test cases one by one), test
// runs, the diff, the impact preview, and submit / publish / retire for the roles allowed; the
// approver's queue of versions in review.

import { ApiError, gql, personOf, userErrorsOf } from "./api.js";
import { can, session } from "./app.js";
import { fill, h, pathId } from "./dom.js";
import { ENUMS, apiLang, currentLang, label, t } from "./i18n.js";
import { cents, yuan } from "./money.js";
import { amountText } from "./result.js";

const VERSION_FIELDS = `id ruleSet version status effectiveFrom effectiveTo contentHash revision
  author submittedBy submittedAt publishedBy publishedAt retiredBy createdAt
  basedOn { id version status }`;

function badge(status) {
  return h("span", { class: `badge ${status}` }, label("versionStatus", status));
}

export async function renderRuleSets(main) {
  const data = await gql(`query($lang: Lang!) { ruleSets { code title(lang: $lang) owner
    versions { ${VERSION_FIELDS} } } }`, { lang: apiLang() });
  const status = h("p", { role: "status", class: "help" });
  const department = session.viewer && session.viewer.department;
  fill(main, h("h1", {}, t("ruleSetsTitle")), status,
    data.ruleSets.map((rs) => h("section", { class: "card", "data-ruleset": rs.code },
      h("h2", {}, `${rs.title} `, h("code", {}, rs.code)),
      h("p", { class: "help" }, `${t("owner")}${t("colon")}${rs.owner}`),
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", {}, t("version")), h("th", {}, t("status")),
          h("th", {}, t("effectiveFrom")), h("th", {}, t("effectiveTo")),
          h("th", {}, t("contentHash")), h("th", {}, ""))),
        h("tbody", {}, rs.versions.map((v) => h("tr", {},
          h("td", {}, `v${v.version}`), h("td", {}, badge(v.status)),
          h("td", {}, v.effectiveFrom || "—"), h("td", {}, v.effectiveTo || "—"),
          h("td", {}, h("code", {}, v.contentHash.slice(0, 12))),
          h("td", {}, h("a", { href: `#/versions/${encodeURIComponent(v.id)}`,
            "aria-label": `${rs.title} v${v.version}` }, t("openVersion")))))))),
      can("editRuleSets") && department === rs.owner ? h("button", { type: "button",
        class: "primary", "data-action": "new-draft", onclick: async () => {
          try {
            const out = userErrorsOf((await gql(`mutation($code: String!) {
              ruleSetDraftCreate(ruleSet: $code) { version { id } userErrors { field errorCode message } } }`,
            { code: rs.code })).ruleSetDraftCreate);
            location.hash = `#/versions/${encodeURIComponent(out.version.id)}`;
          } catch (exc) {
            fill(status, h("span", { class: "error", role: "alert" }, exc.message));
          }
        } }, t("newDraft")) : null)));
}

export async function renderQueue(main) {
  const data = await gql(`query($lang: Lang!) { ruleSets { code title(lang: $lang) owner
    versions { ${VERSION_FIELDS} } } }`, { lang: apiLang() });
  const waiting = data.ruleSets.flatMap((rs) => rs.versions
    .filter((v) => v.status === "IN_REVIEW").map((v) => [rs, v]));
  // An approver publishes their own department's versions; the others are listed apart, to
  // read, since the API would refuse to publish them.
  const department = session.viewer && session.viewer.department;
  const mine = waiting.filter(([rs]) => rs.owner === department);
  const others = waiting.filter(([rs]) => rs.owner !== department);
  const entries = (list) => list.map(([rs, v]) => h("li", {},
    h("a", { href: `#/versions/${encodeURIComponent(v.id)}` }, `${rs.title} v${v.version}`),
    ` · ${rs.owner} · ${t("author")} ${personOf(v.author)} · ${t("submittedBy")} `
    + `${personOf(v.submittedBy)} · ${(v.submittedAt || "").slice(0, 10)}`));
  fill(main, h("h1", {}, t("queueTitle")),
    department ? h("p", { class: "help" }, `${t("department")}${t("colon")}${department}`) : null,
    mine.length ? h("ul", { id: "queue" }, entries(mine)) : h("p", {}, t("queueEmpty")),
    others.length ? h("section", { id: "queue-others" },
      h("h2", {}, t("queueOthers")),
      h("p", { class: "help" }, t("queueOthersHelp")),
      h("ul", {}, entries(others))) : null);
}

// ------------------------------------------------------------------ the version page

export async function renderVersion(main, id) {
  const data = await gql(`query($id: ID!, $lang: Lang!) {
    ruleSetVersion(id: $id) { ${VERSION_FIELDS} document }
    ruleSets { code title(lang: $lang) owner } }`, { id, lang: apiLang() });
  const v = data.ruleSetVersion;
  if (!v) {
    fill(main, h("p", { class: "error" }, t("notFound")));
    return;
  }
  const rs = data.ruleSets.find((r) => r.code === v.ruleSet) || { title: v.ruleSet, owner: "" };
  const viewer = session.viewer || { name: "", department: null };
  const editable = v.status === "DRAFT" && can("editRuleSets") && viewer.department === rs.owner;
  const page = { v, doc: structuredClone(v.document), editable, issues: [], testResults: null,
    openTests: new Set() };
  const status = h("p", { id: "version-status", role: "status", "aria-live": "polite" });
  const say = (text, cls = "help") => fill(status, h("span", { class: cls }, text));
  const fail = (exc) => {
    if (exc instanceof ApiError && exc.code === "CONFLICT") {
      fill(status, h("span", { class: "error", role: "alert" }, `${t("conflict")} `),
        h("button", { type: "button", onclick: () => renderVersion(main, id) }, t("reload")));
    } else {
      fill(status, h("span", { class: "error", role: "alert" }, exc.message));
    }
  };
  const editor = h("div", { id: "editor" });
  const diffBox = h("section", { id: "diff", "aria-live": "polite" });
  const impactBox = h("section", { id: "impact", "aria-live": "polite" });
  const metaBox = h("dl", { class: "meta stats" });
  const drawEditor = () => {
    const x = page.v;
    fill(metaBox,
      meta(t("owner"), rs.owner), meta(t("author"), personOf(x.author)),
      meta(t("submittedBy"), personOf(x.submittedBy)), meta(t("publishedBy"), personOf(x.publishedBy)),
      meta(t("effectiveFrom"), x.effectiveFrom), meta(t("effectiveTo"), x.effectiveTo),
      meta(t("basedOn"), x.basedOn ? `v${x.basedOn.version}` : null),
      meta(t("revision"), x.revision), meta(t("contentHash"), x.contentHash.slice(0, 16)));
    renderEditor(editor, page);
  };

  const save = async () => {
    const out = userErrorsOf((await gql(`mutation($id: ID!, $rev: Int!, $doc: JSON!) {
      ruleSetDraftUpdate(id: $id, expectedRevision: $rev, document: $doc) {
        version { ${VERSION_FIELDS} document } userErrors { field errorCode message } } }`,
    { id: page.v.id, rev: page.v.revision, doc: page.doc })).ruleSetDraftUpdate);
    page.v = out.version;
    // The editor's inputs write into page.doc: draw them again on the saved document.
    page.doc = structuredClone(out.version.document);
    drawEditor();
    return page.v.revision;
  };
  const validate = async () => {
    const out = userErrorsOf((await gql(`mutation($id: ID!, $doc: JSON, $lang: Lang!) {
      ruleSetDraftValidate(id: $id, document: $doc) { valid
        issues { field errorCode text(lang: $lang) severity column }
        userErrors { field errorCode message } } }`,
    { id: page.v.id, doc: page.editable ? page.doc : null, lang: apiLang() })).ruleSetDraftValidate);
    page.issues = out.issues;
    drawEditor();
    return out.valid;
  };
  const runTests = async () => {
    if (page.editable) await save();
    const out = userErrorsOf((await gql(`mutation($id: ID!) { ruleSetDraftTest(id: $id) {
      passed total failed cases { index name passed failures } userErrors { field errorCode message } } }`,
    { id: page.v.id })).ruleSetDraftTest);
    page.testResults = out;
    for (const c of out.cases) if (!c.passed) page.openTests.add(c.index);
    drawEditor();
    say(out.passed ? `${t("tests")}: ${out.total} · ${t("testsPassed")}`
      : `${t("tests")}: ${out.failed}/${out.total} ${t("testsFailed")}`, out.passed ? "ok" : "error");
  };

  const showDiff = async () => {
    if (page.editable) await save();
    const d = (await gql(`query($id: ID!, $lang: Lang!) { ruleSetVersion(id: $id) { diff {
      empty text(lang: $lang) against { version status }
      parameters { name kind oldValue newValue oldUnit newUnit }
      rules { id ruleId kind outcome oldCondition newCondition oldAmount newAmount }
      definitions { name kind oldCondition newCondition }
      tests { name kind changes { field old new } } } } }`,
    { id: page.v.id, lang: apiLang() })).ruleSetVersion.diff;
    renderDiff(diffBox, d, page.v.version);
  };
  // The preview runs in the background (a county's households take seconds): started, then
  // polled for its progress until its report is there.
  const showImpact = async (asOf) => {
    if (page.editable) await save();
    const started = userErrorsOf((await gql(`mutation($id: ID!, $asOf: Date!) {
      ruleSetDraftImpactStart(id: $id, asOf: $asOf, first: 20) { job { id }
        userErrors { field errorCode message } } }`,
    { id: page.v.id, asOf })).ruleSetDraftImpactStart);
    for (let wait = 200; ; wait = Math.min(wait * 2, 1000)) {
      const job = (await gql(`query($id: ID!, $lang: Lang!) { ruleSetDraftImpactJob(id: $id) {
        status householdsDone householdsTotal error { errorCode message }
        result { ...report } } }
      fragment report on ImpactReport {
        asOf households skipped gained lost changed unchanged changedTotal
        annualAmountBefore annualAmountAfter oneOffAmountBefore oneOffAmountAfter
        baseline { version }
        byRegion { regionCode households gained lost changed annualAmountBefore annualAmountAfter }
        changedHouseholds { householdId regionCode kind annualAmountBefore annualAmountAfter
          outcomes { code memberId kind before { ...side } after { ...side } } } }
      fragment side on Outcome { status amount period
        terms { key value unit sample label(lang: $lang) unitLabel(lang: $lang) }
        title(lang: $lang) reasons { text(lang: $lang) } }`,
      { id: started.job.id, lang: apiLang() })).ruleSetDraftImpactJob;
      if (job.status === "DONE") {
        renderImpact(impactBox, job.result);
        return;
      }
      if (job.status === "FAILED") throw new ApiError(job.error.message, job.error.errorCode);
      fill(impactBox, h("p", { id: "impact-progress", class: "help", role: "status" },
        `${t("impactProgress")} ${job.householdsDone} / ${job.householdsTotal}`,
        " ", h("progress", { max: Math.max(1, job.householdsTotal), value: job.householdsDone })));
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  };

  // One operation at a time: each saves the draft at the revision the previous one left, so
  // two clicks in a row must not race each other into a CONFLICT.
  let queue = Promise.resolve();
  const act = (fn, done) => () => {
    queue = queue.then(async () => {
      try {
        say(t("loading"));
        const result = await fn();
        if (done) say(typeof done === "function" ? done(result) : done, "ok");
        else if (status.textContent === t("loading")) say(t("done"), "ok");
      } catch (exc) {
        fail(exc);
      }
    });
    return queue;
  };
  page.runTests = act(runTests);
  const impactDate = h("input", { id: "impact-as-of", type: "date",
    value: new Date().toISOString().slice(0, 10) });
  const effDate = h("input", { id: "effective-from", type: "date" });
  const retireReason = h("input", { id: "retire-reason", type: "text" });
  // A date before today needs an explicit confirmation and a reason (both audited).
  const retroactive = h("input", { id: "retroactive", type: "checkbox" });
  const retroactiveReason = h("input", { id: "retroactive-reason", type: "text" });
  const rejectComment = h("textarea", { id: "reject-comment", rows: 2 });
  const withdrawReason = h("input", { id: "withdraw-reason", type: "text" });
  const writers = [personOf(v.author), personOf(v.submittedBy)];
  const sameApprover = writers.includes(viewer.name);
  const transition = (mutation, vars) => act(async () => {
    const out = userErrorsOf((await gql(mutation, vars))[mutation.match(/(ruleSetVersion\w+)/)[1]]);
    await renderVersion(main, out.version.id);
    say(t("done"), "ok");
  });
  const inDraft = v.status === "DRAFT";
  // Submitting, publishing and retiring are for the approvers of the rule set's own department
  // (the API refuses the others): nothing else is offered.
  const ownApprover = can("approve") && viewer.department === rs.owner;
  // Approvers check what they are asked to submit or publish: validation and the tests.
  const mayWork = editable || (ownApprover && (inDraft || v.status === "IN_REVIEW"));
  const inReview = v.status === "IN_REVIEW";
  // Its author (or whoever submitted it) takes a version in review back; an approver of the
  // department sends it back with a comment.
  const mayWithdraw = inReview && sameApprover
    && ((can("editRuleSets") && viewer.department === rs.owner) || ownApprover);
  fill(main,
    h("p", {}, h("a", { href: "#/rulesets" }, `← ${t("ruleSetsTitle")}`)),
    h("h1", {}, `${rs.title} v${v.version} `, badge(v.status)),
    metaBox,
    h("div", { class: "actions", id: "version-actions" },
      editable ? h("button", { type: "button", id: "save-draft", class: "primary",
        onclick: act(save, (rev) => `${t("draftSaved")} ${rev}`) }, t("saveDraft")) : null,
      mayWork ? h("button", { type: "button", id: "validate",
        onclick: act(validate, (ok) => (ok ? t("valid") : `${t("error")}`)) }, t("validate")) : null,
      mayWork ? h("button", { type: "button", id: "run-tests", onclick: page.runTests },
        t("runTests")) : null,
      v.status !== "PUBLISHED" && v.status !== "RETIRED" ? h("button", { type: "button",
        id: "show-diff", onclick: act(showDiff) }, t("showDiff")) : null,
      inDraft && (editable || ownApprover) ? h("button", { type: "button", id: "submit",
        onclick: transition(`mutation($id: ID!, $rev: Int) { ruleSetVersionSubmit(id: $id,
          expectedRevision: $rev) { version { id } userErrors { field errorCode message } } }`,
        { id: v.id, rev: null }) }, t("submit")) : null),
    can("approve") && !ownApprover && (inDraft || v.status === "IN_REVIEW" || v.status === "PUBLISHED")
      ? h("p", { class: "help", id: "other-department" },
        `${t("otherDepartment")}${t("colon")}${rs.owner}`) : null,
    v.status === "IN_REVIEW" && ownApprover ? h("div", { class: "card row", id: "publish-box" },
      h("div", { class: "field" }, h("label", { for: "effective-from" }, t("effectiveFrom")), effDate),
      h("button", { type: "button", id: "publish", class: "primary", disabled: sameApprover,
        "aria-describedby": sameApprover ? "four-eyes" : null,
        onclick: () => (effDate.value ? transition(`mutation($id: ID!, $from: Date!,
          $retroactive: Boolean!, $reason: String) {
          ruleSetVersionPublish(id: $id, effectiveFrom: $from, retroactive: $retroactive,
          reason: $reason) { version { id } userErrors { field errorCode message } } }`,
          { id: v.id, from: effDate.value, retroactive: retroactive.checked,
            reason: retroactive.checked ? retroactiveReason.value || null : null })()
          : say(`${t("effectiveFrom")}?`, "error")) }, t("publish")),
      h("div", { class: "field" }, h("label", { for: "retroactive" }, retroactive,
        ` ${t("retroactive")}`)),
      h("div", { class: "field" }, h("label", { for: "retroactive-reason" },
        t("retroactiveReason")), retroactiveReason),
      sameApprover ? h("p", { id: "four-eyes", class: "error" }, t("fourEyes")) : null) : null,
    inReview && ownApprover ? h("div", { class: "card row", id: "reject-box" },
      h("div", { class: "field" }, h("label", { for: "reject-comment" }, t("rejectComment")),
        rejectComment),
      h("button", { type: "button", id: "reject",
        onclick: () => transition(`mutation($id: ID!, $comment: String!) {
          ruleSetVersionReject(id: $id, comment: $comment) { version { id }
          userErrors { field errorCode message } } }`, { id: v.id, comment: rejectComment.value })() },
      t("reject"))) : null,
    mayWithdraw ? h("div", { class: "card row", id: "withdraw-box" },
      h("div", { class: "field" }, h("label", { for: "withdraw-reason" }, t("withdrawReason")),
        withdrawReason),
      h("button", { type: "button", id: "withdraw",
        onclick: () => transition(`mutation($id: ID!, $reason: String) {
          ruleSetVersionWithdraw(id: $id, reason: $reason) { version { id }
          userErrors { field errorCode message } } }`,
        { id: v.id, reason: withdrawReason.value || null })() },
      t("withdraw"))) : null,
    v.status === "PUBLISHED" && ownApprover ? h("div", { class: "card row", id: "retire-box" },
      h("div", { class: "field" }, h("label", { for: "retire-reason" }, t("retireReason")), retireReason),
      h("button", { type: "button", id: "retire", class: "danger",
        onclick: () => transition(`mutation($id: ID!, $reason: String) {
          ruleSetVersionRetire(id: $id, reason: $reason) { version { id }
          userErrors { field errorCode message } } }`, { id: v.id, reason: retireReason.value || null })() },
      t("retire"))) : null,
    status,
    editor,
    h("div", { id: "review" }, diffBox,
    v.status === "DRAFT" || v.status === "IN_REVIEW" ? h("section", { class: "card" },
      h("h2", {}, t("impact")),
      h("form", { class: "row", onsubmit: (e) => { e.preventDefault(); act(() => showImpact(impactDate.value))(); } },
        h("div", { class: "field" }, h("label", { for: "impact-as-of" }, t("asOf")), impactDate),
        h("button", { type: "submit", id: "run-impact" }, t("runImpact"))),
      impactBox) : null));
  drawEditor();
}

function meta(name, value) {
  return h("div", { class: "stat" }, h("dt", { class: "help" }, name), h("dd", {}, value ?? "—"));
}

// ------------------------------------------------------------------ the editor

function issueFor(page, path) {
  return page.issues.filter((i) => i.field === path);
}

function issueList(page, path) {
  const found = issueFor(page, path);
  return h("ul", { class: "issues", id: `${pathId(path)}-error`, role: "alert" },
    found.map((i) => h("li", { class: i.severity },
      `${i.errorCode}: ${i.text}${i.column ? ` (${currentLang() === "zh" ? "第" : "column "}${i.column}${currentLang() === "zh" ? "列" : ""})` : ""}`)));
}

function textField(path, labelText, value, onInput, opts = {}) {
  const id = pathId(path);
  const tag = opts.multiline ? "textarea" : "input";
  const attrs = { id, name: path, "aria-describedby": `${id}-error`, disabled: opts.disabled,
    oninput: (e) => onInput(e.target.value) };
  if (tag === "input") Object.assign(attrs, { type: opts.type || "text", value: value ?? "",
    step: opts.step });
  else attrs.rows = opts.rows || 2;
  const el = h(tag, attrs);
  if (tag === "textarea") el.value = value ?? "";
  return h("div", { class: "field", "data-field": path }, h("label", { for: id }, labelText), el);
}

function renderEditor(el, page) {
  const doc = page.doc;
  const ro = !page.editable;
  const lang = currentLang();
  const text = (x) => (x && typeof x === "object" ? (lang === "zh" ? x.zh : x.en) || x.zh : x || "");
  const params = Object.entries(doc.parameters || {});
  // Issues shown beside their field; the rest are listed at the end.
  const placed = new Set([
    ...params.flatMap(([n]) => [`parameters.${n}`, `parameters.${n}.value`]),
    ...Object.keys(doc.definitions || {}).map((n) => `definitions.${n}.condition`),
    ...(doc.rules || []).flatMap((_, i) => [`rules[${i}].condition`, `rules[${i}]`]),
    ...(doc.tests || []).map((_, i) => `tests[${i}]`),
  ]);
  const otherIssues = page.issues.filter((i) => !placed.has(i.field));
  fill(el,
    ro ? h("p", { class: "help" }, t("readOnly")) : null,
    h("section", { class: "card", id: "parameters" },
      h("h2", {}, t("parameters")),
      params.map(([name, p]) => h("fieldset", { class: "param", "data-param": name },
        h("legend", {}, h("code", {}, name), " ", text(p.description),
          p.sample ? h("span", { class: "badge undetermined" }, t("sample")) : null),
        h("div", { class: "grid" },
          textField(`parameters.${name}.value`, t("value"), p.value,
            (x) => { p.value = x === "" ? x : Number(x); }, { type: "number", step: "any", disabled: ro }),
          textField(`parameters.${name}.unit`, t("unit"), p.unit, (x) => { p.unit = x; }, { disabled: ro }),
          textField(`parameters.${name}.citation.document`, t("document"), p.citation && p.citation.document,
            (x) => { p.citation.document = x; }, { disabled: ro }),
          textField(`parameters.${name}.citation.clause`, t("clause"), p.citation && p.citation.clause,
            (x) => { p.citation.clause = x || null; }, { disabled: ro }),
          h("div", { class: "field check" },
            h("input", { type: "checkbox", id: pathId(`parameters.${name}.sample`), checked: Boolean(p.sample),
              disabled: ro, onchange: (e) => { if (e.target.checked) p.sample = true; else delete p.sample; } }),
            h("label", { for: pathId(`parameters.${name}.sample`) }, t("sample")))),
        textField(`parameters.${name}.citation.quote`, t("quote"), p.citation && p.citation.quote,
          (x) => { p.citation.quote = x || null; }, { multiline: true, disabled: ro }),
        issueList(page, `parameters.${name}`), issueList(page, `parameters.${name}.value`)))),
    h("details", { class: "card", id: "definitions",
      open: page.issues.some((i) => i.field.startsWith("definitions")) },
      h("summary", {}, h("strong", {}, t("definitions"))),
      Object.entries(doc.definitions || {}).map(([name, d]) => h("div", {},
        textField(`definitions.${name}.condition`, name, d.condition, (x) => { d.condition = x; },
          { multiline: true, disabled: ro }),
        issueList(page, `definitions.${name}.condition`)))),
    h("section", { class: "card", id: "rules" },
      h("h2", {}, t("rules")),
      (doc.rules || []).map((r, i) => h("div", { class: "rule", "data-rule": r.id },
        h("h3", {}, text(r.title), " ", h("code", {}, r.id), " → ", h("code", {}, r.outcome)),
        textField(`rules[${i}].condition`, t("condition"), r.condition, (x) => { r.condition = x; },
          { multiline: true, disabled: ro, rows: 2 }),
        issueList(page, `rules[${i}].condition`), issueList(page, `rules[${i}]`)))),
    renderTests(page, ro),
    otherIssues.length ? h("section", { class: "card", id: "all-issues" },
      h("h2", {}, t("error")),
      h("ul", { class: "issues" }, otherIssues.map((i) => h("li", { class: i.severity },
        `${i.field}: ${i.errorCode}: ${i.text}`)))) : null);
}

function renderTests(page, ro) {
  const doc = page.doc;
  doc.tests = doc.tests || [];
  const results = page.testResults ? page.testResults.cases : [];
  const redraw = () => renderEditor(document.getElementById("editor"), page);
  return h("section", { class: "card", id: "tests" },
    h("h2", {}, `${t("tests")} (${doc.tests.length})`),
    doc.tests.map((tc, i) => {
      const result = results.find((r) => r.index === i);
      tc.expect = tc.expect || [];
      const hhId = pathId(`tests[${i}].household`);
      const hhArea = h("textarea", { id: hhId, rows: 6, disabled: ro, spellcheck: "false",
        "aria-describedby": `${hhId}-error`,
        oninput: (e) => {
          const err = document.getElementById(`${hhId}-error`);
          try {
            tc.household = JSON.parse(e.target.value);
            fill(err, "");
          } catch (exc) {
            fill(err, h("li", {}, `JSON: ${exc.message}`));
          }
        } });
      hhArea.value = JSON.stringify(tc.household, null, 1);
      // Collapsed unless opened: a version has a dozen cases; one is edited at a time.
      return h("details", { class: "test-case card", "data-test-index": i, open: page.openTests.has(i),
        ontoggle: (e) => { if (e.target.open) page.openTests.add(i); else page.openTests.delete(i); } },
        h("summary", {}, `#${i + 1} ${tc.name || ""} `, result ? h("span", { class: `badge ${result.passed ? "granted" : "not-granted"}`,
          "data-testid": `test-result-${i}` }, result.passed ? t("passed") : t("failed")) : null),
        result && !result.passed ? h("ul", { class: "issues" }, result.failures.map((f) => h("li", {}, f))) : null,
        h("div", { class: "grid" },
          textField(`tests[${i}].name`, t("testName"), tc.name, (x) => { tc.name = x; }, { disabled: ro }),
          textField(`tests[${i}].asOf`, t("asOf"), tc.asOf, (x) => { tc.asOf = x; }, { type: "date", disabled: ro })),
        h("div", { class: "field" }, h("label", { for: hhId }, t("testHousehold")), hhArea,
          h("ul", { class: "issues", id: `${hhId}-error`, role: "alert" })),
        issueList(page, `tests[${i}]`),
        h("h4", {}, t("expectations")),
        h("div", { class: "table-wrap" }, h("table", { class: "expectations" },
          h("thead", {}, h("tr", {}, h("th", {}, t("outcome")), h("th", {}, t("status")),
            h("th", {}, t("memberId")), h("th", {}, t("amount")), h("th", {}, ""))),
          h("tbody", {}, tc.expect.map((ex, j) => {
            const p = `tests[${i}].expect[${j}]`;
            return h("tr", { "data-expect": j },
              h("td", {}, h("input", { type: "text", value: ex.outcome || "", disabled: ro,
                "aria-label": `${t("outcome")} ${i + 1}.${j + 1}`, id: pathId(`${p}.outcome`),
                oninput: (e) => { ex.outcome = e.target.value; } })),
              h("td", {}, h("select", { disabled: ro, id: pathId(`${p}.status`),
                "aria-label": `${t("status")} ${i + 1}.${j + 1}`,
                onchange: (e) => { ex.status = e.target.value; } },
              Object.keys(ENUMS.status).map((s) => h("option", { value: s, selected: ex.status === s },
                label("status", s))))),
              h("td", {}, h("input", { type: "text", value: ex.memberId || "", disabled: ro,
                "aria-label": `${t("memberId")} ${i + 1}.${j + 1}`,
                oninput: (e) => { if (e.target.value) ex.memberId = e.target.value; else delete ex.memberId; } })),
              h("td", {}, h("input", { type: "number", step: "0.01", value: ex.amount ?? "", disabled: ro,
                "aria-label": `${t("amount")} ${i + 1}.${j + 1}`, id: pathId(`${p}.amount`),
                oninput: (e) => { if (e.target.value === "") delete ex.amount; else ex.amount = Number(e.target.value); } })),
              h("td", {}, ro ? null : h("button", { type: "button", class: "link danger",
                "aria-label": `${t("remove")} ${i + 1}.${j + 1}`,
                onclick: () => { tc.expect.splice(j, 1); redraw(); } }, t("remove"))));
          })))),
        ro ? null : h("div", { class: "actions" },
          h("button", { type: "button", onclick: () => {
            tc.expect.push({ outcome: "", status: "GRANTED" });
            redraw();
          } }, t("addExpectation")),
          h("button", { type: "button", class: "run-one", onclick: page.runTests }, t("runOneTest")),
          h("button", { type: "button", class: "danger", onclick: () => {
            doc.tests.splice(i, 1);
            page.testResults = null;
            page.openTests = new Set();
            redraw();
          } }, t("removeTest"))));
    }),
    ro ? null : h("button", { type: "button", id: "add-test", onclick: () => {
      const base = doc.tests.length ? structuredClone(doc.tests[doc.tests.length - 1]) : null;
      doc.tests.push({
        name: `new test ${doc.tests.length + 1}`,
        asOf: base ? base.asOf : new Date().toISOString().slice(0, 10),
        household: base ? base.household : { id: "t-new", members: [{ id: "m1", birthDate: "1980-01-01" }] },
        expect: [],
      });
      page.openTests.add(doc.tests.length - 1);
      redraw();
    } }, t("addTest")));
}

// ------------------------------------------------------------------ diff and impact

// A parameter's unit as the rule set writes it ("yuan/person/year", "months") in Chinese.
const UNIT_WORDS = {
  yuan: "元", person: "人", student: "生", child: "儿童", household: "户", year: "年",
  month: "月", months: "个月", years: "年", days: "天", ratio: "（比例）", grade: "级",
};

/** A unit in words: 元/人/年 for yuan/person/year; as written in English, or when any part
 * of it has no words. */
export function unitText(unit) {
  if (!unit || currentLang() !== "zh") return unit || "";
  const parts = unit.split("/").map((x) => UNIT_WORDS[x.trim()]);
  return parts.every(Boolean) ? parts.join("/") : unit;
}

/** A parameter's value with its unit: an amount in yuan to the fen, with thousands
 * separated (6,000.00 元/人/年); "—" when there is none (added or removed). */
export function parameterText(value, unit) {
  if (value === null || value === undefined) return "—";
  const shown = (unit || "").startsWith("yuan") ? yuan(cents(value)) : String(value);
  const words = unitText(unit);
  return !words ? shown : words.startsWith("（") ? `${shown}${words}` : `${shown} ${words}`;
}

function renderDiff(el, d, version) {
  if (!d) {
    fill(el, h("p", { class: "help" }, "—"));
    return;
  }
  const rows = [
    ...d.parameters.map((p) => [t("parameters"), p.name, p.kind,
      parameterText(p.oldValue, p.oldUnit), parameterText(p.newValue, p.newUnit)]),
    ...d.definitions.map((x) => [t("definitions"), x.name, x.kind, x.oldCondition || "—", x.newCondition || "—"]),
    ...d.rules.map((r) => [t("rules"), r.ruleId, r.kind,
      [r.oldCondition, r.oldAmount].filter(Boolean).join(" · ") || "—",
      [r.newCondition, r.newAmount].filter(Boolean).join(" · ") || "—"]),
    ...d.tests.map((x) => [t("tests"), x.name, x.kind,
      x.changes.map((c) => `${c.field}: ${c.old ?? "—"}`).join("; ") || "—",
      x.changes.map((c) => `${c.field}: ${c.new ?? "—"}`).join("; ") || "—"]),
  ];
  fill(el, h("div", { class: "card" },
    h("h2", {}, `${t("diff")} (v${d.against.version} → v${version})`),
    d.empty ? h("p", {}, t("noDiff")) : h("div", { class: "table-wrap" }, h("table", { id: "diff-table" },
      h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", {}, ""), h("th", {}, ""),
        h("th", {}, t("before")), h("th", {}, t("after")))),
      h("tbody", {}, rows.map((r) => h("tr", {}, h("td", {}, r[0]), h("td", {}, h("code", {}, r[1])),
        h("td", {}, label("changeKind", r[2])), h("td", {}, r[3]), h("td", {}, r[4])))))),
    h("details", {}, h("summary", {}, t("diffText")), h("pre", { class: "diff" }, d.text))));
}

function renderImpact(el, r) {
  const max = Math.max(1, ...r.byRegion.map((x) => x.gained + x.lost + x.changed));
  const side = (o) => (o ? h("div", {}, h("span", { class: `badge ${o.status === "GRANTED" ? "granted" : "not-granted"}` },
    label("status", o.status)), " ", o.title, " · ", amountText(o),
  o.reasons.map((reason) => h("div", { class: "help" }, reason.text)))
    : h("span", { class: "help" }, "—"));
  fill(el,
    h("div", { class: "stats", id: "impact-stats" },
      stat(t("households"), r.households), stat(t("gained"), r.gained), stat(t("lost"), r.lost),
      stat(t("changed"), r.changed), stat(t("unchanged"), r.unchanged), stat(t("skipped"), r.skipped),
      stat(t("annualBefore"), `${yuan(cents(r.annualAmountBefore))}`),
      stat(t("annualAfter"), `${yuan(cents(r.annualAmountAfter))}`)),
    h("h3", {}, t("byRegion")),
    h("p", { class: "legend help" }, h("span", { class: "bar-g", style: "background:#2e8b57" }), t("gained"),
      h("span", { style: "background:#c0392b" }), t("lost"), h("span", { style: "background:#d4a017" }), t("changed")),
    h("div", { class: "bars", role: "img", "aria-label": t("byRegion") },
      r.byRegion.map((x) => [h("span", {}, `${x.regionCode} (${x.gained}/${x.lost}/${x.changed})`),
        h("div", { class: "bar" },
          h("span", { class: "g", style: `width:${(100 * x.gained) / max}%` }),
          h("span", { class: "l", style: `width:${(100 * x.lost) / max}%` }),
          h("span", { class: "c", style: `width:${(100 * x.changed) / max}%` }))])),
    h("h3", {}, `${t("changedHouseholds")} (${r.changedHouseholds.length}/${r.changedTotal})`),
    h("div", { class: "table-wrap" }, h("table", { id: "changed-households" },
      h("thead", {}, h("tr", {}, h("th", {}, t("household")), h("th", {}, t("status")),
        h("th", {}, t("before")), h("th", {}, t("after")))),
      h("tbody", {}, r.changedHouseholds.flatMap((hh) => hh.outcomes.map((o) => h("tr", {},
        h("td", {}, `${hh.householdId} (${hh.regionCode})${o.memberId ? ` · ${o.memberId}` : ""}`),
        h("td", {}, label("changeKind", o.kind)),
        h("td", {}, side(o.before)), h("td", {}, side(o.after)))))))));
}

function stat(name, value) {
  return h("div", { class: "stat" }, h("span", { class: "help" }, name), h("b", {}, String(value)));
}
