// The console's frame: session, account and region, sections, routing (#/<account>/<region>/<section>/...) and the
// polling that keeps the page live (a status change shows within about a second).

import * as api from "./api.js";
import { clear, h, href, input } from "./dom.js";
import { configsView } from "./configs.js";
import { controlsView } from "./controls.js";
import { imageView } from "./image.js";
import { imagesView } from "./images.js";
import { signInView } from "./signin.js";

const POLL_MS = 1000;
const SCOPES_EVERY = 5; // polls between two reads of the scopes list
const main = document.getElementById("main");
const nav = document.getElementById("nav");
const scopeBox = document.getElementById("scope");
const who = document.getElementById("who");
let view = null;
let known = [];
let polls = 0;
let busy = false;
let lastScope = null;

function defaultScope() {
  if (known.length) return known[0];
  const session = api.current();
  if (session.account) return { account: session.account, region: session.regions[0] || "us-east-1" };
  return { account: "000000000000", region: "us-east-1" };
}

function parse(hash) {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "controls" && api.current().controls) return { name: "controls" };
  if (parts.length < 3 || !/^\d{12}$/.test(parts[0])) return null;
  const scope = { account: parts[0], region: parts[1] };
  if (parts[2] === "images" && parts.length === 4) return { name: "image", scope, image: parts[3] };
  if (parts[2] === "images" && parts.length === 3) return { name: "images", scope };
  if (parts[2] === "app-image-configs" && parts.length === 3) return { name: "configs", scope };
  return null;
}

function sameScope(a, b) {
  return a && b && a.account === b.account && a.region === b.region;
}

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

function scopeLabel(scope) {
  if (scope.images === undefined) return `${scope.account} / ${scope.region}`;
  const counts = [plural(scope.images, "image")];
  if (scope.appImageConfigs) counts.push(plural(scope.appImageConfigs, "config"));
  return `${scope.account} / ${scope.region} (${counts.join(", ")})`;
}

function renderWho() {
  const session = api.current();
  if (session.auth !== "sigv4") {
    clear(who, h("span", { class: "note", title: "The server runs with --auth off: no sign-in" }, "auth off"));
    return;
  }
  if (!session.signedIn) {
    clear(who);
    return;
  }
  const out = h("button", { type: "button", class: "small" }, "Sign out");
  out.addEventListener("click", async () => {
    await api.signOut();
    known = [];
    route();
  });
  clear(who, h("span", {}, "Signed in as ", h("code", {}, session.accessKeyId), ` (account ${session.account})`), " ", out);
}

function renderNav(target) {
  const scope = target.scope || lastScope || defaultScope();
  const links = [
    ["images", "Images", href(scope, "images")],
    ["configs", "AppImageConfigs", href(scope, "app-image-configs")],
  ];
  if (api.current().controls) links.push(["controls", "Test controls", "#/controls"]);
  const current = target.name === "image" ? "images" : target.name;
  clear(nav, h("ul", {}, links.map(([name, text, link]) =>
    h("li", {}, h("a", { href: link, "aria-current": name === current ? "page" : null }, text)))));
  nav.hidden = false;
}

function renderScopes(target) {
  const scope = target.scope || lastScope || defaultScope();
  const session = api.current();
  const options = known.some((s) => sameScope(s, scope)) ? known : [...known, scope];
  const chooser = h("select", { id: "scope-select" },
    options.map((s) => h("option", { value: `${s.account}/${s.region}`, selected: sameScope(s, scope) }, scopeLabel(s))),
  );
  const section = target.name === "configs" ? "app-image-configs" : "images";
  chooser.addEventListener("change", () => {
    const [account, region] = chooser.value.split("/");
    window.location.hash = href({ account, region }, section);
  });
  const account = input("account", {
    value: session.account || scope.account, pattern: "[0-9]{12}", class: "account", disabled: Boolean(session.account),
    "aria-label": "Account ID",
  });
  const region = input("region", { value: scope.region, class: "region", "aria-label": "Region" });
  const other = h("form", { class: "inline other", "aria-label": "Another account or region" }, account, region, h("button", { type: "submit" }, "Go"));
  other.addEventListener("submit", (event) => {
    event.preventDefault();
    window.location.hash = href({ account: account.value.trim(), region: region.value.trim() }, section);
  });
  clear(scopeBox, h("label", { for: "scope-select" }, "Account / region"), chooser, h("details", { class: "other" }, h("summary", {}, "Other…"), other));
  scopeBox.hidden = target.name === "controls";
}

async function loadScopes() {
  try {
    known = await api.scopes();
  } catch {
    known = [];
  }
}

function mount(next, focus) {
  view = next;
  clear(main, next.element);
  document.title = `${next.title} · smimages`;
  if (focus) {
    const target = next.focus || main.querySelector("#page-title");
    if (target) target.focus();
  }
  tick();
}

async function route(focus = false) {
  const session = api.current();
  renderWho();
  if (!session.signedIn) {
    nav.hidden = true;
    scopeBox.hidden = true;
    mount(signInView(async () => {
      await loadScopes();
      const asked = parse(window.location.hash);
      if (asked && asked.scope && asked.scope.account !== api.current().account) window.history.replaceState(null, "", "#/");
      route(true);
    }), true);
    return;
  }
  let target = parse(window.location.hash);
  if (!target) {
    window.history.replaceState(null, "", href(defaultScope(), "images"));
    target = parse(window.location.hash);
  }
  if (target.scope) lastScope = target.scope;
  renderNav(target);
  renderScopes(target);
  const context = { scope: target.scope, image: target.image };
  const views = { images: imagesView, image: imageView, configs: configsView, controls: controlsView };
  mount(views[target.name](context), focus);
}

async function tick() {
  if (busy || !view || !view.refresh || document.hidden) return;
  busy = true;
  try {
    await view.refresh();
    polls += 1;
    if (polls % SCOPES_EVERY === 0 && view.element.isConnected) {
      const before = JSON.stringify(known);
      await loadScopes();
      if (JSON.stringify(known) !== before && !scopeBox.contains(document.activeElement)) {
        renderScopes(parse(window.location.hash) || {});
      }
    }
  } catch (error) {
    console.warn("refresh failed", error);
  } finally {
    busy = false;
  }
}

function wireDialog() {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-ok").addEventListener("click", () => dialog.close("ok"));
  document.getElementById("confirm-cancel").addEventListener("click", () => dialog.close("cancel"));
}

async function start() {
  wireDialog();
  api.onSignedOut(async () => {
    await api.loadSession();
    route();
  });
  try {
    await api.loadSession();
  } catch (error) {
    clear(main, h("p", { class: "error", role: "alert" }, h("strong", {}, error.code), ": ", error.message));
    return;
  }
  if (api.current().signedIn) await loadScopes();
  window.addEventListener("hashchange", () => route(true));
  route();
  setInterval(tick, POLL_MS);
}

start();
