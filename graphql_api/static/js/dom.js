// A tiny DOM builder: every text goes through textContent, never innerHTML, so household facts
// and rule texts cannot inject markup.

/** h("div", {class: "x", onclick: fn}, child, ...) -> Element */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "style") {
      el.style.cssText = value; // CSSOM, allowed by the CSP (a style attribute would not be)
    } else if (key === "class") {
      el.className = value;
    } else if (key === "value" && "value" in el) {
      el.value = value;
    } else if (key === "checked") {
      el.checked = Boolean(value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let ids = 0;
/** A fresh id for label/for pairs. */
export function uid(prefix = "f") {
  ids += 1;
  return `${prefix}-${ids}`;
}

/** An id safe for a field path such as members[1].birthDate. */
export function pathId(path) {
  return "field-" + path.replace(/[^A-Za-z0-9_-]/g, "_");
}

/** One page of a table paged by a "more" button, into `list`: the first page (no `after`)
 * replaces what `list` shows with `whole()`; a later one is appended to its table. While there
 * is a next page, a button labelled `moreText` asks `more(endCursor)` for it. */
export function showPage(list, { after, rows, pageInfo, whole, moreText, more }) {
  const body = list.querySelector("tbody");
  if (after && body) {
    rows.forEach((r) => body.appendChild(r));
    list.querySelector(".more")?.remove();
  } else {
    fill(list, ...whole());
  }
  if (pageInfo.hasNextPage) {
    list.appendChild(h("button", { type: "button", class: "more",
      onclick: () => more(pageInfo.endCursor) }, moreText));
  }
}
