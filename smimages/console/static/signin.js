// Sign-in with an access key of the server's credentials file (--auth sigv4): nothing else shows before it.

import * as api from "./api.js";
import { field, h, input, messages } from "./dom.js";

export function signInView(onSignedIn) {
  const notes = messages();
  const form = h(
    "form",
    { class: "signin", "aria-labelledby": "page-title" },
    h("h2", { id: "page-title", tabindex: "-1" }, "Sign in"),
    h("p", {}, "This server checks every request's signature. Sign in with an access key from its credentials file."),
    notes.box,
    field("Access key ID", input("accessKeyId", { required: true, autocomplete: "username" })),
    field("Secret access key", input("secretAccessKey", { type: "password", required: true, autocomplete: "current-password" })),
    h("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      await api.signIn(data.get("accessKeyId"), data.get("secretAccessKey"));
      onSignedIn();
    } catch (error) {
      notes.error(error);
      form.elements.secretAccessKey.value = "";
    }
  });
  return { element: form, title: "Sign in", focus: form.elements.accessKeyId };
}
