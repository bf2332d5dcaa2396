// The images of one (account, region): filter, pages, statuses as they change, and the form that creates one.

import * as api from "./api.js";
import { cli, field, h, href, input, listPage, status, tagCells, time } from "./dom.js";

export function imagesView({ scope }) {
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

  async function load(request) {
    const listed = await api.call(scope, "ListImages", { ...request, SortBy: "IMAGE_NAME", SortOrder: "ASCENDING" });
    const images = listed.Images || [];
    const names = images.map((image) => image.ImageName);
    const [counts, tags] = await Promise.all([
      api.versionCounts(scope, names),
      api.calls(scope, images.map((image) => ["ListTags", { ResourceArn: image.ImageArn, MaxResults: 50 }])),
    ]);
    images.forEach((image, i) => {
      image.versions = counts[image.ImageName];
      image.tags = tags[i].body ? tags[i].body.Tags : [];
    });
    return { items: images, next: listed.NextToken };
  }

  const { element, refresh, notes } = listPage({
    title: "Images",
    columns: ["Name", "Display name", "Status", "Versions", "Last modified", "Tags", "AWS CLI"],
    emptyText: "No images here yet.",
    load,
    key: (image) => image.ImageName,
    row,
  });

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
  element.append(create);

  return { element, refresh, title: "Images" };
}
