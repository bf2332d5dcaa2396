// The AppImageConfigs of one (account, region), with their configuration blocks and tags.

import * as api from "./api.js";
import { cli, h, listPage, tagCells, time } from "./dom.js";

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

  async function load(request) {
    const listed = await api.call(scope, "ListAppImageConfigs", { ...request, SortBy: "Name", SortOrder: "Ascending" });
    const configs = listed.AppImageConfigs || [];
    const tags = await api.calls(scope, configs.map((c) => ["ListTags", { ResourceArn: c.AppImageConfigArn, MaxResults: 50 }]));
    configs.forEach((config, i) => {
      config.tags = tags[i].body ? tags[i].body.Tags : [];
    });
    return { items: configs, next: listed.NextToken };
  }

  const { element, refresh } = listPage({
    title: "AppImageConfigs",
    columns: ["Name", "Configuration", "Created", "Last modified", "Tags", "AWS CLI"],
    emptyText: "No AppImageConfigs here.",
    load,
    key: (config) => config.AppImageConfigName,
    row,
  });
  return { element, refresh, title: "AppImageConfigs" };
}
