// The images of one (account, region): filter, pages, statuses as they change, and the form that creates one.

import * as api from "./api.js";
import { cli, debounced, field, h, href, input, latest, messages, pager, reconcile, status, tagCells, time } from "./dom.js";

const PAGE_SIZE = 25;

export function imagesView({ scope }) {
  const notes = messages();
  const filter = input("filter", { type: "search", placeholder: "part of a name" });
  const tbody = h("tbody");
  const empty = h("p", { class: "empty", hidden: true }, "No images here yet.");
  const pages = pager(() => refresh());
  filter.addEventListener(
    "input",
    debounced(() => {
      pages.reset();
      refresh();
    }),
  );

  const create = h(
    "form",
    { class: "create", "aria-labelledby": "create-image-title" },
    h("h3", { id: "create-image-title" }, "Create an image"),
    h(
      "div",
      { class: "fields" },
      field("ImageName", input("ImageName", { required: true })),
      field("RoleArn", input("RoleArn", { required: true, placeholder: "arn:aws:iam::123456789012:role/..." })),
      field("DisplayName", input("DisplayName")),
      field("Description", input("Description")),
    ),
    h("button", { type: "submit" }, "Create image"),
  );
  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(create);
    const request = { ImageName: data.get("ImageName"), RoleArn: data.get("RoleArn") };
    for (const name of ["DisplayName", "Description"]) if (data.get(name)) request[name] = data.get(name);
    try {
      await api.call(scope, "CreateImage", request);
      notes.ok(`Image ${request.ImageName} is being created.`);
      create.reset();
      await refresh();
    } catch (error) {
      notes.error(error);
    }
  });

  const element = h(
    "section",
    { "aria-labelledby": "page-title" },
    h("h2", { id: "page-title", tabindex: "-1" }, "Images"),
    h("form", { role: "search", class: "filter", onsubmit: (e) => e.preventDefault() }, field("Filter by name", filter)),
    notes.box,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "list" },
        h("caption", { class: "sr-only" }, "Images"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Name", "Display name", "Status", "Versions", "Last modified", "Tags", "AWS CLI"].map((title) =>
              h("th", { scope: "col" }, title),
            ),
          ),
        ),
        tbody,
      ),
    ),
    empty,
    pages.element,
    create,
  );

  function row(image) {
    return h(
      "tr",
      {},
      h(
        "th",
        { scope: "row", "data-label": "Name" },
        h("a", { href: href(scope, "images", image.ImageName), "data-fk": `open ${image.ImageName}` }, image.ImageName),
      ),
      h("td", { "data-label": "Display name" }, image.DisplayName || "—"),
      h("td", { "data-label": "Status" }, status(image.ImageStatus)),
      h("td", { "data-label": "Versions", class: "number" }, image.versions ?? "—"),
      h("td", { "data-label": "Last modified" }, time(image.LastModifiedTime)),
      h("td", { "data-label": "Tags" }, tagCells(image.tags)),
      h("td", { "data-label": "AWS CLI" }, cli("describe-image", [["--image-name", image.ImageName]], scope.region)),
    );
  }

  const refresh = latest(async (current) => {
    const request = { MaxResults: PAGE_SIZE, SortBy: "IMAGE_NAME", SortOrder: "ASCENDING" };
    if (filter.value.trim()) request.NameContains = filter.value.trim();
    if (pages.token) request.NextToken = pages.token;
    let listed;
    try {
      listed = await api.call(scope, "ListImages", request);
    } catch (error) {
      if (current()) notes.error(error);
      return;
    }
    const images = listed.Images || [];
    const names = images.map((image) => image.ImageName);
    const [counts, tags] = await Promise.all([
      api.versionCounts(scope, names),
      api.calls(scope, images.map((image) => ["ListTags", { ResourceArn: image.ImageArn, MaxResults: 50 }])),
    ]);
    if (!current()) return;
    images.forEach((image, i) => {
      image.versions = counts[image.ImageName];
      image.tags = tags[i].body ? tags[i].body.Tags : [];
    });
    pages.update(listed.NextToken);
    reconcile(tbody, images, (image) => image.ImageName, row);
    empty.hidden = images.length > 0;
  });

  return { element, refresh, title: "Images" };
}
