// Household check: a form for every household fact, checked as the user types; evaluate as of a
// date; the API's field errors beside the fields they name; save, record, print.

import { ApiError, fieldPath, gql } from "./api.js";
import { session, can } from "./app.js";
import { fill, h, pathId } from "./dom.js";
import { HOUSEHOLD_FIELDS, MEMBER_FIELDS, blankHousehold, blankMember, checkLocally, toJson }
  from "./facts.js";
import { ENUMS, apiLang, currentLang, errorText, label, t } from "./i18n.js";
import { DETERMINATION_FIELDS, renderDetermination, renderPrintSummary } from "./result.js";

function today() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

// The form's state outlives a language switch or a visit to another page.
export const state = { household: null, asOf: today(), result: null, serverErrors: {},
  touched: new Set(), submitted: false };

/** Open a household (e.g. a saved one) in the check page. */
export function loadIntoCheck(household) {
  state.household = household;
  state.result = null;
  state.serverErrors = {};
  state.touched = new Set();
  state.submitted = false;
}

function fieldLabel(f) {
  return currentLang() === "zh" ? f.zh : f.en;
}

function control(f, path, get, set, onChange) {
  const id = pathId(path);
  const errId = `${id}-error`;
  const common = { id, name: path, "aria-describedby": errId, "data-path": path };
  let input;
  if (f.kind === "bool") {
    input = h("input", { ...common, type: "checkbox", checked: Boolean(get()),
      onchange: (e) => { set(e.target.checked); onChange(path); } });
  } else if (f.kind === "select") {
    const options = f.values ? f.values.map(String) : Object.keys(ENUMS[f.set] || {});
    input = h("select", { ...common, onchange: (e) => { set(e.target.value); onChange(path); } },
      f.optional || f.default === undefined ? h("option", { value: "" }, f.optional ? "—" : "") : null,
      options.map((v) => h("option", { value: v, selected: String(get()) === String(v) },
        label(f.set, v))));
    input.value = get() === undefined || get() === null ? "" : String(get());
  } else {
    const attrs = { ...common, value: get() ?? "", required: f.required,
      oninput: (e) => { set(e.target.value); onChange(path); } };
    if (f.kind === "money") Object.assign(attrs, { type: "number", min: "0", step: "0.01", inputmode: "decimal" });
    else if (f.kind === "date") Object.assign(attrs, { type: "date", max: state.asOf });
    else Object.assign(attrs, { type: "text", autocomplete: "off" });
    if (f.optional) attrs.placeholder = t("unknownHint");
    input = h("input", attrs);
  }
  const unit = f.kind === "money" ? h("span", { class: "unit" }, t("yuan")) : null;
  const wrapClass = `field ${f.kind === "bool" ? "check" : ""}`;
  return h("div", { class: wrapClass, "data-field": path },
    f.kind === "bool" ? [input, h("label", { for: id }, fieldLabel(f))]
      : [h("label", { for: id }, fieldLabel(f)), h("div", { class: "input-unit" }, input, unit)],
    h("p", { class: "field-error", id: errId, role: "alert", "aria-live": "polite" }));
}

function showErrors(form) {
  // Local checks speak up once a field was touched (or the form sent), not on a fresh form.
  const local = Object.fromEntries(Object.entries(checkLocally(state.household, state.asOf))
    .filter(([path]) => state.submitted || state.touched.has(path)));
  const all = { ...local, ...state.serverErrors };
  for (const box of form.querySelectorAll(".field")) {
    const path = box.dataset.field;
    const err = box.querySelector(".field-error");
    const input = box.querySelector("input, select");
    const problem = all[path];
    fill(err, problem ? errorText(problem[0], problem[1]) : "");
    box.classList.toggle("invalid", Boolean(problem));
    if (input) input.setAttribute("aria-invalid", problem ? "true" : "false");
  }
  const known = new Set([...form.querySelectorAll(".field")].map((b) => b.dataset.field));
  const other = Object.entries(all).filter(([path]) => !known.has(path));
  const box = form.querySelector("#other-errors");
  fill(box, other.length ? [h("strong", {}, t("otherErrors")), h("ul", {},
    other.map(([path, [code, msg]]) => h("li", {}, `${path}: ${errorText(code, msg)}`)))] : "");
}

function touch(path) {
  delete state.serverErrors[path];
  state.touched.add(path);
}

function memberBlock(form, index, rerender) {
  const m = state.household.members[index];
  const changed = (path) => { touch(path); showErrors(form); };
  return h("fieldset", { class: "member card", "data-member-index": index },
    h("legend", {}, `${t("member")} ${index + 1}`),
    h("div", { class: "grid" }, MEMBER_FIELDS.map((f) => control(f, `members[${index}].${f.name}`,
      () => m[f.name], (v) => { m[f.name] = v; }, changed))),
    h("button", { type: "button", class: "link danger",
      "aria-label": `${t("removeMember")} ${index + 1}`,
      onclick: () => { state.household.members.splice(index, 1); state.serverErrors = {}; rerender(); } },
    t("removeMember")));
}

async function evaluate(form, resultBox, button) {
  state.serverErrors = {};
  state.submitted = true;
  showErrors(form);
  button.disabled = true;
  fill(resultBox, h("p", { class: "help" }, t("evaluating")));
  try {
    const data = await gql(`query($h: HouseholdFactsInput!, $asOf: Date!, $lang: Lang!) {
      evaluate(facts: $h, asOf: $asOf) { ${DETERMINATION_FIELDS} } }`,
    { h: toJson(state.household), asOf: state.asOf, lang: apiLang() });
    state.result = data.evaluate;
    await showResult(resultBox);
  } catch (exc) {
    state.result = null;
    handleError(form, resultBox, exc);
  } finally {
    button.disabled = false;
  }
}

function handleError(form, resultBox, exc) {
  if (exc instanceof ApiError && exc.fieldErrors.length) {
    for (const e of exc.fieldErrors) state.serverErrors[fieldPath(e.field)] = [e.errorCode || e.code, e.message];
    showErrors(form);
    fill(resultBox, h("p", { class: "error", role: "alert" }, t("fixErrors")));
    const first = form.querySelector(".field.invalid input, .field.invalid select");
    if (first) first.focus();
  } else {
    fill(resultBox, h("p", { class: "error", role: "alert" }, `${t("error")}: ${exc.message}`));
  }
}

async function showResult(resultBox) {
  const det = state.result;
  const body = h("div", {});
  fill(resultBox, h("h2", { id: "results-title" }, t("results"), " · ", det.asOf),
    h("div", { class: "actions" },
      h("button", { type: "button", onclick: async () => {
        await renderPrintSummary(det, state.household);
        window.print();
      } }, t("print"))),
    body);
  await renderDetermination(body, det);
}

async function saveAndRecord(form, resultBox, status) {
  state.serverErrors = {};
  state.submitted = true;
  showErrors(form);
  try {
    const saved = await gql(`mutation($h: HouseholdFactsInput!) { householdSave(facts: $h) {
      household { id revision } userErrors { field message errorCode } } }`, { h: toJson(state.household) });
    const errors = saved.householdSave.userErrors;
    if (errors.length) throw new ApiError(errors[0].message, errors[0].errorCode, errors);
    const rev = saved.householdSave.household.revision;
    const done = await gql(`mutation($id: ID!, $asOf: Date!, $lang: Lang!) {
      householdDetermine(id: $id, asOf: $asOf) { record { id }
        determination { ${DETERMINATION_FIELDS} } userErrors { field message errorCode } } }`,
    { id: state.household.id, asOf: state.asOf, lang: apiLang() });
    const payload = done.householdDetermine;
    if (payload.userErrors.length) {
      throw new ApiError(payload.userErrors[0].message, payload.userErrors[0].errorCode, payload.userErrors);
    }
    state.result = payload.determination;
    await showResult(resultBox);
    fill(status, `${t("saved")} ${rev} · ${t("recorded")}: `,
      h("a", { href: `#/households/${encodeURIComponent(state.household.id)}` }, t("openHousehold")));
  } catch (exc) {
    handleError(form, resultBox, exc);
  }
}

export async function renderCheck(main) {
  if (!state.household) {
    state.household = blankHousehold(session.viewer && session.viewer.regions[0]);
  }
  const resultBox = h("section", { id: "results", class: "results", "aria-live": "polite",
    "aria-labelledby": "results-title" });
  const status = h("p", { class: "help", role: "status" });
  const form = h("form", { id: "household-form", novalidate: true });
  const rerender = () => {
    const changed = (path) => { touch(path); showErrors(form); };
    const evalButton = h("button", { type: "submit", class: "primary" }, t("evaluate"));
    fill(form,
      h("fieldset", { class: "card" },
        h("legend", {}, t("householdFacts")),
        h("div", { class: "grid" },
          h("div", { class: "field", "data-field": "asOf" },
            h("label", { for: "as-of" }, t("asOf")),
            h("input", { id: "as-of", type: "date", value: state.asOf, required: true,
              "aria-describedby": "as-of-error",
              oninput: (e) => { state.asOf = e.target.value; showErrors(form); } }),
            h("p", { class: "field-error", id: "as-of-error" })),
          HOUSEHOLD_FIELDS.map((f) => control(f, f.name, () => state.household[f.name],
            (v) => { state.household[f.name] = v; }, changed)))),
      h("h2", {}, t("members")),
      state.household.members.map((_, i) => memberBlock(form, i, rerender)),
      h("div", { class: "field", "data-field": "members" },
        h("p", { class: "field-error", id: "field-members-error", role: "alert" })),
      h("div", { class: "actions" },
        h("button", { type: "button", id: "add-member", onclick: () => {
          state.household.members.push(blankMember(state.household.members.length));
          rerender();
          const boxes = form.querySelectorAll("fieldset.member");
          boxes[boxes.length - 1].querySelector("input").focus();
        } }, t("addMember")),
        evalButton,
        can("saveHouseholds") ? h("button", { type: "button", id: "save-record",
          onclick: () => saveAndRecord(form, resultBox, status) }, t("record")) : null),
      h("div", { id: "other-errors", class: "error", role: "alert" }));
    form.onsubmit = (event) => { event.preventDefault(); evaluate(form, resultBox, evalButton); };
    showErrors(form);
  };
  rerender();
  fill(main, h("h1", {}, t("checkTitle")), form, status, resultBox);
  if (state.result) await showResult(resultBox);
}
