// The console's one door to the service: POST /graphql on the same origin, JSON only, asking
// for the API's messages in the console's language.

import { currentLang } from "./i18n.js";

const TOKEN_KEY = "policy-engine.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** A GraphQL error as the API sent it: message, code and field errors. */
export class ApiError extends Error {
  constructor(message, code, fieldErrors) {
    super(message);
    this.code = code || "ERROR";
    this.fieldErrors = fieldErrors || [];
  }
}

/** A mutation's payload, or its userErrors (the expected refusals) thrown as one ApiError. */
export function userErrorsOf(payload) {
  if (payload.userErrors && payload.userErrors.length) {
    const e = payload.userErrors[0];
    throw new ApiError(payload.userErrors.map((x) => x.message).join("; "), e.errorCode, payload.userErrors);
  }
  return payload;
}

/** Today as the API writes dates (ISO, UTC). */
export function today() {
  return new Date().toISOString().slice(0, 10);
}

/** The person of an actor as the API names it (`user:name` → `name`). */
export function personOf(actor) {
  return (actor || "").split(":").slice(-1)[0];
}

/** Run one operation; resolves to data, rejects with ApiError. */
export async function gql(query, variables = {}) {
  const headers = { "content-type": "application/json",
    "accept-language": currentLang() === "zh" ? "zh-CN" : "en" };
  const t = token();
  if (t) headers.authorization = `Bearer ${t}`;
  let response;
  try {
    response = await fetch("graphql", {
      method: "POST", headers, body: JSON.stringify({ query, variables }),
      credentials: "omit",
    });
  } catch (exc) {
    throw new ApiError(String(exc), "NETWORK");
  }
  let body;
  try {
    body = await response.json();
  } catch (exc) {
    throw new ApiError(`HTTP ${response.status}`, "HTTP_" + response.status);
  }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    const ext = first.extensions || {};
    throw new ApiError(first.message, ext.code, ext.errors || []);
  }
  return body.data;
}

/** Field errors use the input's path; the console names fields without the argument name
 * (``facts.members[0].age`` -> ``members[0].age``). */
export function fieldPath(path) {
  return (path || "").replace(/^(facts|household)\./, "");
}
