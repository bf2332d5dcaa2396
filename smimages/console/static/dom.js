// Building the page: elements are made with text nodes and attributes only (never parsed as markup), so whatever the
// catalog holds is shown as text.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

const KINDS = [
  [/FAILED$/, "failed"],
  [/^(CREATED|AVAILABLE)$/, "ok"],
  [/ING$/, "busy"],
];

// A status as a word with its colour (the word carries the meaning; the colour only repeats it).
export function status(word) {
  const kind = (KINDS.find(([pattern]) => pattern.test(word || "")) || [null, "other"])[1];
  return h("span", { class: `status status-${kind}` }, word || "—");
}

// An AWS timestamp (epoch seconds) in the browser's local time, with UTC on hover.
export function time(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const moment = new Date(seconds * 1000);
  const utc = moment.toISOString().replace(".000Z", "Z");
  return h("time", { datetime: utc, title: `UTC: ${utc.replace("T", " ")}` }, moment.toLocaleString());
}

export function shellQuote(text) {
  const value = String(text);
  return /^[A-Za-z0-9_\-.:/@=+,]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

// The AWS CLI command that shows a resource, for this server, with a button to copy it.
export function cli(subcommand, args, region) {
  const parts = ["aws", "sagemaker", subcommand];
  for (const [flag, value] of args) parts.push(flag, shellQuote(value));
  parts.push("--region", region, "--endpoint-url", window.location.origin);
  const command = parts.join(" ");
  const code = h("code", { class: "command" }, command);
  const copy = h("button", { type: "button", class: "small", "data-fk": `copy ${command}` }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(command);
      copy.textContent = "Copied";
    } catch {
      window.getSelection().selectAllChildren(code);
      copy.textContent = "Selected: press Ctrl+C";
    }
  });
  return h("details", { class: "cli" }, h("summary", { "data-fk": `cli ${command}` }, "AWS CLI"), code, " ", copy);
}

export function field(label, input, hint) {
  return h("label", { class: "field" }, h("span", { class: "label" }, label), input, hint ? h("small", {}, hint) : null);
}

export function input(name, attrs = {}) {
  return h("input", { name, type: "text", autocomplete: "off", spellcheck: "false", ...attrs });
}

export function select(name, values, attrs = {}) {
  return h(
    "select",
    { name, ...attrs },
    values.map(([value, text]) => h("option", { value }, text)),
  );
}

// A region for the outcome of actions: AWS's error code and message, or a note of success.
export function messages() {
  const box = h("div", { class: "messages", role: "status", "aria-live": "polite" });
  return {
    box,
    error(error) {
      const text = `${error.code || "Error"}: ${error.message}`;
      if (box.textContent === text) return; // a refresh failing again: announced once
      clear(box, h("p", { class: "error", role: "alert" }, h("strong", {}, error.code || "Error"), ": ", error.message));
    },
    ok(text) {
      clear(box, h("p", { class: "ok" }, text));
    },
    clear() {
      clear(box);
    },
  };
}

// Replaces the rows of a table body with `items`, re-rendering only rows whose data changed, and keeps keyboard
// focus on the element it was on (matched by its data-fk attribute) when its row is re-rendered.
export function reconcile(tbody, items, key, render) {
  const focused = document.activeElement && tbody.contains(document.activeElement)
    ? document.activeElement.getAttribute("data-fk") : null;
  const existing = new Map([...tbody.children].map((row) => [row.dataset.key, row]));
  const rows = items.map((item) => {
    const signature = JSON.stringify(item);
    const old = existing.get(String(key(item)));
    if (old && old.dataset.signature === signature) return old;
    const row = render(item);
    row.dataset.key = String(key(item));
    row.dataset.signature = signature;
    if (old) old.replaceWith(row);
    return row;
  });
  const current = [...tbody.children];
  if (rows.length !== current.length || rows.some((row, i) => row !== current[i])) tbody.replaceChildren(...rows);
  if (focused && !tbody.contains(document.activeElement)) {
    const again = [...tbody.querySelectorAll("[data-fk]")].find((el) => el.getAttribute("data-fk") === focused);
    if (again) again.focus();
  }
}

// Asks before something is deleted: a modal dialog whose default button is Cancel. Resolves to true or false.
export function confirmAction(question, action) {
  const dialog = document.getElementById("confirm");
  clear(document.getElementById("confirm-text"), question);
  const ok = document.getElementById("confirm-ok");
  ok.textContent = action;
  return new Promise((resolve) => {
    const done = () => {
      dialog.removeEventListener("close", done);
      resolve(dialog.returnValue === "ok");
    };
    dialog.addEventListener("close", done);
    dialog.returnValue = "";
    dialog.showModal();
    document.getElementById("confirm-cancel").focus();
  });
}

// A random version 4 UUID (crypto.randomUUID needs a secure context; getRandomValues does not).
export function uuid() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function list(text) {
  return String(text || "").split(/[\s,]+/).filter(Boolean);
}

export function tagCells(tags) {
  if (!tags || !tags.length) return "—";
  return h("ul", { class: "tags" }, tags.map((tag) => h("li", {}, h("span", { class: "tag-key" }, tag.Key), "=", tag.Value)));
}

// The console's address of a page of one (account, region): #/<account>/<region>/<section>/...
export function href(scope, ...parts) {
  return `#/${[scope.account, scope.region, ...parts].map(encodeURIComponent).join("/")}`;
}

// Previous / Next over a list paged by the API's NextToken: remembers the token of each page seen.
export function pager(onChange) {
  const tokens = [undefined];
  let page = 0;
  const previous = h("button", { type: "button", "data-fk": "previous" }, "Previous");
  const next = h("button", { type: "button", "data-fk": "next" }, "Next");
  const label = h("span", { class: "page" }, "Page 1");
  const element = h("nav", { class: "pager", "aria-label": "Pages" }, previous, label, next);
  previous.addEventListener("click", () => {
    if (page > 0) page -= 1;
    onChange();
  });
  next.addEventListener("click", () => {
    if (tokens[page + 1]) page += 1;
    onChange();
  });
  return {
    element,
    get token() {
      return tokens[page];
    },
    // Records what the current page's answer says comes next.
    update(nextToken) {
      tokens[page + 1] = nextToken || undefined;
      tokens.length = page + 2;
      previous.disabled = page === 0;
      next.disabled = !nextToken;
      label.textContent = `Page ${page + 1}`;
    },
    reset() {
      tokens.length = 1;
      page = 0;
    },
  };
}

// fn, called once input has paused for `ms` milliseconds.
export function debounced(fn, ms = 250) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

// A view's refresh for when refreshes overlap (the poll, and one an action starts): `load` is handed a function
// that says whether its run is still the latest, and renders nothing once it is not.
export function latest(load) {
  let generation = 0;
  return async () => {
    generation += 1;
    const mine = generation;
    await load(() => mine === generation);
  };
}

const LIST_PAGE_SIZE = 25;

// A page listing one kind of resource: its title, a filter by name, messages, a table of `columns`, a pager.
// `load(request)` lists one page (the request holds MaxResults, and NameContains and NextToken when they apply) and
// returns { items, next }; `key` names an item and `row` renders one. Returns { element, refresh, notes }.
export function listPage({ title, columns, emptyText, load, key, row }) {
  const notes = messages();
  const filter = input("filter", { type: "search", placeholder: "part of a name" });
  const tbody = h("tbody");
  const empty = h("p", { class: "empty", hidden: true }, emptyText);
  const pages = pager(() => refresh());
  filter.addEventListener(
    "input",
    debounced(() => {
      pages.reset();
      refresh();
    }),
  );
  const element = h(
    "section",
    { "aria-labelledby": "page-title" },
    h("h2", { id: "page-title", tabindex: "-1" }, title),
    h("form", { role: "search", class: "filter", onsubmit: (e) => e.preventDefault() }, field("Filter by name", filter)),
    notes.box,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "list" },
        h("caption", { class: "sr-only" }, title),
        h("thead", {}, h("tr", {}, columns.map((column) => h("th", { scope: "col" }, column)))),
        tbody,
      ),
    ),
    empty,
    pages.element,
  );
  const refresh = latest(async (current) => {
    const request = { MaxResults: LIST_PAGE_SIZE };
    if (filter.value.trim()) request.NameContains = filter.value.trim();
    if (pages.token) request.NextToken = pages.token;
    let page;
    try {
      page = await load(request);
    } catch (error) {
      if (current()) notes.error(error);
      return;
    }
    if (!current()) return;
    pages.update(page.next);
    reconcile(tbody, page.items, key, row);
    empty.hidden = page.items.length > 0;
  });
  return { element, refresh, notes };
}
