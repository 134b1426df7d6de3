// A small query page: any GraphQL operation against /graphql with the signed-in token. It does
// what GraphiQL is used for day to day, with nothing loaded from elsewhere.

import { gql, ApiError } from "./api.js";
import { fill, h } from "./dom.js";
import { t } from "./i18n.js";

const EXAMPLE = `query($lang: Lang!) {
  ruleSets { code title(lang: $lang) owner versions { version status effectiveFrom } }
}`;

let last = { query: EXAMPLE, variables: '{"lang": "ZH"}' };

export function renderQuery(main) {
  const query = h("textarea", { id: "q-text", rows: 14, spellcheck: "false" }, last.query);
  const vars = h("textarea", { id: "q-vars", rows: 4, spellcheck: "false" }, last.variables);
  const out = h("pre", { id: "q-out", class: "diff", "aria-live": "polite" });
  const run = async (event) => {
    event.preventDefault();
    last = { query: query.value, variables: vars.value };
    let variables = {};
    try {
      variables = vars.value.trim() ? JSON.parse(vars.value) : {};
    } catch (exc) {
      fill(out, `${t("variables")}: ${exc.message}`);
      return;
    }
    try {
      fill(out, JSON.stringify(await gql(query.value, variables), null, 2));
    } catch (exc) {
      const detail = exc instanceof ApiError ? { message: exc.message, code: exc.code,
        errors: exc.fieldErrors } : String(exc);
      fill(out, JSON.stringify(detail, null, 2));
    }
  };
  fill(main, h("h1", {}, t("queryTitle")),
    h("form", { class: "card", onsubmit: run },
      h("label", { for: "q-text" }, t("queryText")), query,
      h("label", { for: "q-vars" }, t("variables")), vars,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("run")),
        h("span", { class: "help" }, "Ctrl+Enter"))),
    h("h2", {}, t("response")), out,
    h("p", { class: "help" }, h("a", { href: "graphql" }, t("graphiqlLink"))));
  query.addEventListener("keydown", (e) => { if (e.key === "Enter" && e.ctrlKey) run(e); });
}
