// One image: its details and tags, its versions page by page (live), and the actions on both.

import * as api from "./api.js";
import {
  clear, cli, confirmAction, field, h, href, input, latest, list, messages, pager, reconcile, select, status, time, uuid,
} from "./dom.js";

const PAGE_SIZE = 25;

// A version's metadata fields as the model describes them (the session carries the list): an input for each.
function metadataInput(spec, value) {
  if (spec.type === "boolean" || spec.values) {
    const values = spec.type === "boolean" ? ["true", "false"] : spec.values;
    const control = select(spec.name, [["", "—"], ...values.map((v) => [v, v])]);
    control.value = value === null || value === undefined ? "" : String(value);
    return control;
  }
  return input(spec.name, { value: value ?? "" });
}

function metadataValue(spec, text) {
  if (text === "" || text === null) return undefined;
  return spec.type === "boolean" ? text === "true" : text;
}

function containerImage(text) {
  if (!text) return "—";
  const at = text.indexOf("@sha256:");
  if (at < 0) return h("code", {}, text);
  return h("code", {}, text.slice(0, at), h("wbr"), h("span", { class: "digest" }, text.slice(at)));
}

function metadataList(version, specs) {
  const shown = specs.filter((spec) => version[spec.name] !== null && version[spec.name] !== undefined);
  if (!shown.length) return "—";
  return h("dl", { class: "meta" }, shown.map((spec) => [h("dt", {}, spec.name), h("dd", {}, String(version[spec.name]))]));
}

export function imageView({ scope, image: name }) {
  const specs = api.current().versionMetadata;
  const notes = messages();
  const heading = h("h2", { id: "page-title", tabindex: "-1" }, "Image ", h("span", { class: "name" }, name));
  const headStatus = h("span", { class: "head-status" });
  const details = h("dl", { class: "details" });
  const tagBody = h("tbody");
  const versionBody = h("tbody");
  const versionCount = h("span", { class: "count" });
  const emptyVersions = h("p", { class: "empty", hidden: true }, "No versions.");
  const noTags = h("p", { class: "empty", hidden: true }, "No tags.");
  const editor = h("div", { class: "editor" });
  const pages = pager(() => refresh());
  const jump = input("version", { type: "number", min: "1", inputmode: "numeric", class: "short" });
  let arn = null;
  let only = null; // the version number shown alone ("Go to version"), or null for the pages

  const deleteImage = h("button", { type: "button", class: "danger" }, "Delete image");
  deleteImage.addEventListener("click", async () => {
    if (!(await confirmAction(`Delete image ${name} and all its versions?`, "Delete image"))) return;
    try {
      await api.call(scope, "DeleteImage", { ImageName: name });
      notes.ok(`Image ${name} is being deleted.`);
      await refresh();
    } catch (error) {
      notes.error(error);
    }
  });

  const addTag = h(
    "form",
    { class: "inline", "aria-label": "Add a tag" },
    field("Key", input("Key", { required: true })),
    field("Value", input("Value")),
    h("button", { type: "submit" }, "Add tag"),
  );
  addTag.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(addTag);
    try {
      await api.call(scope, "AddTags", { ResourceArn: arn, Tags: [{ Key: data.get("Key"), Value: data.get("Value") }] });
      notes.ok(`Tag ${data.get("Key")} added.`);
      addTag.reset();
      await refresh();
    } catch (error) {
      notes.error(error);
    }
  });

  const createVersion = h(
    "form",
    { class: "create", "aria-labelledby": "create-version-title" },
    h("h3", { id: "create-version-title" }, "Create a version"),
    h(
      "div",
      { class: "fields" },
      field("BaseImage", input("BaseImage", { required: true, placeholder: "registry/repository:tag" })),
      field("Aliases", input("Aliases"), "separated by commas"),
      specs.map((spec) => field(spec.name, metadataInput(spec, null))),
    ),
    h("button", { type: "submit" }, "Create version"),
  );
  createVersion.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(createVersion);
    const request = { ImageName: name, BaseImage: data.get("BaseImage"), ClientToken: uuid() };
    const aliases = list(data.get("Aliases"));
    if (aliases.length) request.Aliases = aliases;
    for (const spec of specs) {
      const value = metadataValue(spec, data.get(spec.name));
      if (value !== undefined) request[spec.name] = value;
    }
    try {
      const answer = await api.call(scope, "CreateImageVersion", request);
      notes.ok(`Version created: ${answer.ImageVersionArn}`);
      createVersion.reset();
      await refresh();
    } catch (error) {
      notes.error(error);
    }
  });

  const jumpForm = h(
    "form",
    { class: "inline", role: "search" },
    field("Go to version", jump),
    h("button", { type: "submit" }, "Show"),
    h("button", { type: "button", onclick: () => { jump.value = ""; only = null; refresh(); } }, "Show all"),
  );
  jumpForm.addEventListener("submit", (event) => {
    event.preventDefault();
    only = jump.value ? Number(jump.value) : null;
    refresh();
  });

  function edit(version) {
    const aliasChecks = (version.aliases || []).map((alias) =>
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "remove", value: alias }), ` remove ${alias}`),
    );
    const form = h(
      "form",
      { class: "create", "aria-labelledby": "edit-title" },
      h("h3", { id: "edit-title", tabindex: "-1" }, `Edit version ${version.Version}`),
      h(
        "div",
        { class: "fields" },
        aliasChecks.length ? h("fieldset", {}, h("legend", {}, "Aliases to remove"), aliasChecks) : null,
        field("Aliases to add", input("AliasesToAdd"), "separated by commas"),
        specs.map((spec) => field(spec.name, metadataInput(spec, version[spec.name]))),
      ),
      h("button", { type: "submit" }, "Save"),
      " ",
      h("button", { type: "button", onclick: () => clear(editor) }, "Cancel"),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const request = { ImageName: name, Version: version.Version };
      const add = list(data.get("AliasesToAdd"));
      const remove = data.getAll("remove");
      if (add.length) request.AliasesToAdd = add;
      if (remove.length) request.AliasesToDelete = remove;
      for (const spec of specs) {
        const value = metadataValue(spec, data.get(spec.name));
        if (value !== undefined && value !== version[spec.name]) request[spec.name] = value;
      }
      try {
        await api.call(scope, "UpdateImageVersion", request);
        notes.ok(`Version ${version.Version} updated.`);
        clear(editor);
        await refresh();
      } catch (error) {
        notes.error(error);
      }
    });
    clear(editor, form);
    form.querySelector("h3").focus();
  }

  async function remove(version) {
    if (!(await confirmAction(`Delete version ${version.Version} of image ${name}?`, "Delete version"))) return;
    try {
      await api.call(scope, "DeleteImageVersion", { ImageName: name, Version: version.Version });
      notes.ok(`Version ${version.Version} is being deleted.`);
      await refresh();
    } catch (error) {
      notes.error(error);
    }
  }

  function versionRow(version) {
    const n = version.Version;
    return h(
      "tr",
      {},
      h("th", { scope: "row", "data-label": "Version", class: "number" }, n),
      h("td", { "data-label": "Status" }, status(version.ImageVersionStatus)),
      h("td", { "data-label": "Aliases" }, version.aliases.length ? h("ul", { class: "tags" }, version.aliases.map((a) => h("li", {}, a))) : "—"),
      h("td", { "data-label": "BaseImage" }, h("code", {}, version.BaseImage)),
      h("td", { "data-label": "ContainerImage" }, containerImage(version.ContainerImage)),
      h("td", { "data-label": "FailureReason", class: version.FailureReason ? "reason" : null }, version.FailureReason || "—"),
      h("td", { "data-label": "Metadata" }, metadataList(version, specs)),
      h("td", { "data-label": "Last modified" }, time(version.LastModifiedTime)),
      h(
        "td",
        { "data-label": "Actions", class: "actions" },
        h("button", { type: "button", class: "small", "data-fk": `edit ${n}`, onclick: () => edit(version) }, "Edit"),
        " ",
        h("button", { type: "button", class: "small danger", "data-fk": `delete ${n}`, onclick: () => remove(version) }, "Delete"),
        cli("describe-image-version", [["--image-name", name], ["--version-number", n]], scope.region),
      ),
    );
  }

  function tagRow(tag) {
    const button = h("button", { type: "button", class: "small", "data-fk": `untag ${tag.Key}` }, "Remove");
    button.addEventListener("click", async () => {
      try {
        await api.call(scope, "DeleteTags", { ResourceArn: arn, TagKeys: [tag.Key] });
        notes.ok(`Tag ${tag.Key} removed.`);
        await refresh();
      } catch (error) {
        notes.error(error);
      }
    });
    return h(
      "tr",
      {},
      h("th", { scope: "row", "data-label": "Key" }, tag.Key),
      h("td", { "data-label": "Value" }, tag.Value),
      h("td", {}, button),
    );
  }

  const body = h(
    "div",
    {},
    h("div", { class: "toolbar" }, deleteImage, cli("describe-image", [["--image-name", name]], scope.region)),
    details,
    h(
      "section",
      { "aria-labelledby": "versions-title" },
      h("h3", { id: "versions-title" }, "Versions ", versionCount),
      jumpForm,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "list versions" },
          h("caption", { class: "sr-only" }, `Versions of ${name}`),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Version", "Status", "Aliases", "BaseImage", "ContainerImage", "FailureReason", "Metadata", "Last modified", "Actions"]
                .map((title) => h("th", { scope: "col" }, title)),
            ),
          ),
          versionBody,
        ),
      ),
      emptyVersions,
      pages.element,
      editor,
      createVersion,
    ),
    h(
      "section",
      { "aria-labelledby": "tags-title" },
      h("h3", { id: "tags-title" }, "Tags"),
      h("table", { class: "list compact" }, h("thead", {}, h("tr", {}, ["Key", "Value", ""].map((t) => h("th", { scope: "col" }, t)))), tagBody),
      noTags,
      addTag,
    ),
  );
  const gone = h("p", { class: "empty", hidden: true }, "This image does not exist (any more). ", h("a", { href: href(scope, "images") }, "Back to the images"));

  const element = h(
    "section",
    { "aria-labelledby": "page-title" },
    h("p", { class: "crumbs" }, h("a", { href: href(scope, "images") }, "Images"), " / ", name),
    h("div", { class: "heading" }, heading, headStatus),
    notes.box,
    gone,
    body,
  );

  function showDetails(image) {
    arn = image.ImageArn;
    clear(headStatus, status(image.ImageStatus));
    const rows = [
      ["ImageArn", h("code", {}, image.ImageArn)],
      ["DisplayName", image.DisplayName || "—"],
      ["Description", image.Description || "—"],
      ["RoleArn", h("code", {}, image.RoleArn)],
      ["Status", status(image.ImageStatus)],
      ["FailureReason", image.FailureReason || "—"],
      ["Created", time(image.CreationTime)],
      ["Last modified", time(image.LastModifiedTime)],
    ];
    const signature = JSON.stringify(image);
    if (details.dataset.signature !== signature) {
      details.dataset.signature = signature;
      clear(details, rows.map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value))));
    }
  }

  const refresh = latest(async (current) => {
    const listing = only
      ? ["DescribeImageVersion", { ImageName: name, Version: only }]
      : ["ListImageVersions", { ImageName: name, MaxResults: PAGE_SIZE, SortBy: "VERSION", SortOrder: "DESCENDING", NextToken: pages.token }];
    const [[described, listed], counts] = await Promise.all([
      api.calls(scope, [["DescribeImage", { ImageName: name }], listing]),
      api.versionCounts(scope, [name]),
    ]);
    if (!current()) return;
    if (described.error) {
      if (described.error.code === "ResourceNotFound") {
        gone.hidden = false;
        body.hidden = true;
        clear(headStatus);
      } else {
        notes.error(described.error);
      }
      return;
    }
    gone.hidden = true;
    body.hidden = false;
    showDetails(described.body);
    versionCount.textContent = counts[name] === undefined ? "" : `(${counts[name]})`;
    let versions = [];
    if (listed.error) {
      if (!(only && listed.error.code === "ResourceNotFound")) notes.error(listed.error);
    } else {
      versions = only ? [listed.body] : listed.body.ImageVersions;
      if (!only) pages.update(listed.body.NextToken);
    }
    pages.element.hidden = Boolean(only);
    // a listed version is a summary: each one's description has BaseImage, ContainerImage and the metadata
    const [tags, ...answers] = await api.calls(scope, [
      ["ListTags", { ResourceArn: arn, MaxResults: 50 }],
      ...versions.flatMap((v) => [
        ["DescribeImageVersion", { ImageName: name, Version: v.Version }],
        ["ListAliases", { ImageName: name, Version: v.Version, MaxResults: 100 }],
      ]),
    ]);
    if (!current()) return;
    versions = versions.map((version, i) => {
      const [described, aliases] = answers.slice(2 * i, 2 * i + 2);
      return {
        ...(described.body || version),
        aliases: aliases.body ? aliases.body.SageMakerImageVersionAliases : [],
      };
    });
    const tagList = tags.body ? tags.body.Tags : [];
    reconcile(tagBody, tagList, (tag) => tag.Key, tagRow);
    noTags.hidden = tagList.length > 0;
    reconcile(versionBody, versions, (version) => version.Version, versionRow);
    emptyVersions.hidden = versions.length > 0;
  });

  return { element, refresh, title: `Image ${name}` };
}
