// The AppImageConfigs of one (account, region), with their configuration blocks and tags.

import * as api from "./api.js";
import { cli, debounced, field, h, input, latest, messages, pager, reconcile, tagCells, time } from "./dom.js";

const PAGE_SIZE = 25;
const BLOCKS = ["KernelGatewayImageConfig", "JupyterLabAppImageConfig", "CodeEditorAppImageConfig"];

function blocks(config) {
  const present = BLOCKS.filter((block) => config[block]);
  if (!present.length) return "—";
  return present.map((block) =>
    h(
      "details",
      { class: "block" },
      h("summary", { "data-fk": `block ${config.AppImageConfigName} ${block}` }, block),
      h("pre", {}, JSON.stringify(config[block], null, 2)),
    ),
  );
}

export function configsView({ scope }) {
  const notes = messages();
  const filter = input("filter", { type: "search", placeholder: "part of a name" });
  const tbody = h("tbody");
  const empty = h("p", { class: "empty", hidden: true }, "No AppImageConfigs here.");
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
    h("h2", { id: "page-title", tabindex: "-1" }, "AppImageConfigs"),
    h("form", { role: "search", class: "filter", onsubmit: (e) => e.preventDefault() }, field("Filter by name", filter)),
    notes.box,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "list" },
        h("caption", { class: "sr-only" }, "AppImageConfigs"),
        h(
          "thead",
          {},
          h("tr", {}, ["Name", "Configuration", "Created", "Last modified", "Tags", "AWS CLI"].map((t) => h("th", { scope: "col" }, t))),
        ),
        tbody,
      ),
    ),
    empty,
    pages.element,
  );

  function row(config) {
    const name = config.AppImageConfigName;
    return h(
      "tr",
      {},
      h("th", { scope: "row", "data-label": "Name" }, name),
      h("td", { "data-label": "Configuration" }, blocks(config)),
      h("td", { "data-label": "Created" }, time(config.CreationTime)),
      h("td", { "data-label": "Last modified" }, time(config.LastModifiedTime)),
      h("td", { "data-label": "Tags" }, tagCells(config.tags)),
      h("td", { "data-label": "AWS CLI" }, cli("describe-app-image-config", [["--app-image-config-name", name]], scope.region)),
    );
  }

  const refresh = latest(async (current) => {
    const request = { MaxResults: PAGE_SIZE, SortBy: "Name", SortOrder: "Ascending" };
    if (filter.value.trim()) request.NameContains = filter.value.trim();
    if (pages.token) request.NextToken = pages.token;
    let listed;
    try {
      listed = await api.call(scope, "ListAppImageConfigs", request);
    } catch (error) {
      if (current()) notes.error(error);
      return;
    }
    const configs = listed.AppImageConfigs || [];
    const tags = await api.calls(scope, configs.map((c) => ["ListTags", { ResourceArn: c.AppImageConfigArn, MaxResults: 50 }]));
    if (!current()) return;
    configs.forEach((config, i) => {
      config.tags = tags[i].body ? tags[i].body.Tags : [];
    });
    pages.update(listed.NextToken);
    reconcile(tbody, configs, (config) => config.AppImageConfigName, row);
    empty.hidden = configs.length > 0;
  });

  return { element, refresh, title: "AppImageConfigs" };
}
