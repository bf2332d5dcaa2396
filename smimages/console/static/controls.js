// The test controls of a server started with --enable-admin: its clock, armed faults, and the whole catalog.

import * as api from "./api.js";
import { clear, confirmAction, field, h, input, latest, messages, reconcile, select, time } from "./dom.js";

export function controlsView() {
  const notes = messages();
  const now = h("span", { class: "now" });
  const faultBody = h("tbody");
  const noFaults = h("p", { class: "empty" }, "No faults are armed.");

  // Runs a control; on success shows what it did (and empties `form`, when given), else the server's error.
  async function run(action, done, form) {
    try {
      const answer = await action();
      if (done) notes.ok(done(answer));
      if (form) form.reset();
      await refresh();
    } catch (error) {
      notes.error(error);
    }
  }

  const seconds = input("seconds", { type: "number", min: "0", step: "any", value: "60", class: "short" });
  const clock = h(
    "form",
    { class: "inline", "aria-label": "Clock" },
    field("Seconds", seconds),
    h("button", { type: "submit" }, "Advance the clock"),
    " ",
    h(
      "button",
      { type: "button", onclick: () => run(() => api.control("POST", "time/settle", {}), () => "Every pending transition is done.") },
      "Settle",
    ),
  );
  clock.addEventListener("submit", (event) => {
    event.preventDefault();
    run(
      () => api.control("POST", "time/advance", { seconds: Number(seconds.value) }),
      () => `The clock moved ${seconds.value} s ahead.`,
    );
  });

  const session = api.current();
  const arm = h(
    "form",
    { class: "create", "aria-labelledby": "arm-title" },
    h("h4", { id: "arm-title" }, "Arm a fault"),
    h(
      "div",
      { class: "fields" },
      field("Type", select("type", [["fail", "fail: the lifecycle ends *_FAILED"], ["error", "error: the call answers an error"]])),
      field("Operation", select("operation", [["*", "* (any, error faults)"], ...session.operations.map((o) => [o, o])])),
      field("Image (name glob or ARN)", input("image", { value: "*" })),
      field("Count", input("count", { type: "number", min: "1", value: "1", class: "short" }), "empty: every matching call"),
      field("Reason (fail)", input("reason")),
      field("Code (error)", input("code", { placeholder: "ThrottlingException" })),
      field("Message (error)", input("message")),
    ),
    h("button", { type: "submit" }, "Arm fault"),
  );
  arm.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(arm);
    const fault = { type: data.get("type"), operation: data.get("operation"), count: data.get("count") ? Number(data.get("count")) : null };
    for (const name of ["image", "reason", "code", "message"]) if (data.get(name)) fault[name] = data.get(name);
    run(() => api.control("POST", "faults", fault), (armed) => `Armed ${armed.id}.`, arm);
  });

  const upload = h("input", { type: "file", name: "catalog", accept: "application/json,.json" });
  const load = h(
    "form",
    { class: "inline", "aria-label": "Import a catalog" },
    field("Catalog file (JSON)", upload),
    h("button", { type: "submit", class: "danger" }, "Import (replaces the catalog)"),
  );
  load.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = upload.files[0];
    if (!file) return;
    if (!(await confirmAction(`Replace the whole catalog with ${file.name}?`, "Replace the catalog"))) return;
    let document;
    try {
      document = JSON.parse(await file.text());
    } catch {
      notes.error({ code: "Error", message: `${file.name} is not JSON.` });
      return;
    }
    run(() => api.control("PUT", "state", document), (answer) => `Imported ${answer.images} images.`);
  });

  const exportButton = h("button", { type: "button" }, "Export the catalog");
  exportButton.addEventListener("click", () =>
    run(async () => {
      const document = await api.control("GET", "state");
      const link = h("a", {
        href: URL.createObjectURL(new Blob([JSON.stringify(document, null, 2)], { type: "application/json" })),
        download: "smimages-catalog.json",
      });
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
      return document;
    }, () => "Exported smimages-catalog.json."),
  );

  const clearAll = h("button", { type: "button", class: "danger" }, "Clear all faults");
  clearAll.addEventListener("click", () => run(() => api.control("DELETE", "faults"), (a) => `Removed ${a.removed} faults.`));

  function faultRow(fault) {
    const remove = h("button", { type: "button", class: "small", "data-fk": `remove ${fault.id}` }, "Remove");
    remove.addEventListener("click", () => run(() => api.control("DELETE", `faults/${encodeURIComponent(fault.id)}`), () => `Removed ${fault.id}.`));
    return h(
      "tr",
      {},
      h("th", { scope: "row", "data-label": "Id" }, fault.id),
      ["type", "operation", "image", "count", "hits"].map((key) =>
        h("td", { "data-label": key[0].toUpperCase() + key.slice(1) }, fault[key] ?? "every call"),
      ),
      h("td", { "data-label": "Reason or error" }, fault.reason || [fault.code, fault.message].filter(Boolean).join(": ") || "—"),
      h("td", {}, remove),
    );
  }

  const element = h(
    "section",
    { "aria-labelledby": "page-title" },
    h("h2", { id: "page-title", tabindex: "-1" }, "Test controls"),
    h("p", { class: "note" }, "This server runs with --enable-admin: these controls act on the whole server."),
    notes.box,
    h("section", { "aria-labelledby": "clock-title" }, h("h3", { id: "clock-title" }, "Clock"), h("p", {}, "Service time: ", now), clock),
    h(
      "section",
      { "aria-labelledby": "faults-title" },
      h("h3", { id: "faults-title" }, "Faults"),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "list compact" },
          h("thead", {}, h("tr", {}, ["Id", "Type", "Operation", "Image", "Count", "Hits", "Reason or error", ""].map((t) => h("th", { scope: "col" }, t)))),
          faultBody,
        ),
      ),
      noFaults,
      clearAll,
      arm,
    ),
    h("section", { "aria-labelledby": "catalog-title" }, h("h3", { id: "catalog-title" }, "Catalog"), exportButton, load),
  );

  const refresh = latest(async (current) => {
    const [clockNow, faults] = await Promise.all([api.control("GET", "time"), api.control("GET", "faults")]);
    if (!current()) return;
    clear(now, time(clockNow.now));
    reconcile(faultBody, faults.faults, (fault) => fault.id, faultRow);
    noFaults.hidden = faults.faults.length > 0;
  });

  return { element, refresh, title: "Test controls" };
}
