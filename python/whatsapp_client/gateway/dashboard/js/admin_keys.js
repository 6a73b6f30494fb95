// Admin: API keys (create with Key name and Scope; the new key is shown once; Revoke).

import { api } from "./api.js";
import { alertBox, announce, clear, confirmDialog, field, formatTime, h, select } from "./dom.js";

export function keysSection(ctx) {
  const name = h("input", { type: "text", name: "key_name", required: true, maxlength: 100, autocomplete: "off" });
  const scope = select("scope", ["read", "write", "admin"], "read");
  const error = alertBox();
  const secret = h("div", { class: "secret", hidden: true });
  const body = h("tbody");
  const form = h("form", { class: "inline-form", "aria-label": "Create an API key" },
    field("Key name", name), field("Scope", scope),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create key")));
  const section = h("section", { "aria-labelledby": "keys-title", class: "card" },
    h("h2", { id: "keys-title" }, "API keys"), form, error, secret,
    h("div", { class: "table-wrap" }, h("table", {},
      h("caption", { class: "visually-hidden" }, "API keys"),
      h("thead", {}, h("tr", {}, ...["Name", "Scope", "Prefix", "Owner", "Created", "Last used", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
      body)));
  let emails = new Map();

  const keyRow = (key) => {
    const revoke = h("button", { type: "button", class: "danger" }, "Revoke");
    revoke.addEventListener("click", async () => {
      if (!(await confirmDialog("Revoke the API key " + key.name + "? Programs using it stop working at once.", "Revoke"))) {
        revoke.focus();
        return;
      }
      try {
        await api.del("/keys/" + encodeURIComponent(key.id));
        announce("Revoked " + key.name);
        await load();
      } catch (err) {
        error.show(err.message);
      }
    });
    return h("tr", { dataset: { keyId: key.id } },
      h("th", { scope: "row" }, key.name),
      h("td", { "data-label": "Scope" }, key.scope),
      h("td", { "data-label": "Prefix" }, h("code", {}, key.prefix + "…")),
      h("td", { "data-label": "Owner" }, emails.get(key.user_id) || key.user_id || "—"),
      h("td", { "data-label": "Created" }, formatTime(key.created_at)),
      h("td", { "data-label": "Last used" }, formatTime(key.last_used_at)),
      h("td", { "data-label": "Actions" }, revoke));
  };

  const load = async () => {
    try {
      const data = await api.get("/keys");
      clear(body, (data.keys || data.items || []).map(keyRow));
    } catch (err) {
      error.show(err.message);
    }
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.show("");
    try {
      const created = await api.post("/keys", { name: name.value.trim(), scope: scope.value });
      clear(secret,
        h("p", {}, "The key " + created.name + " (shown once; keep it somewhere safe):"),
        h("code", { tabindex: "0" }, created.key));
      secret.hidden = false;
      secret.querySelector("code").focus();
      name.value = "";
      await load();
    } catch (err) {
      error.show(err.message);
    }
  });
  load();
  section.setUsers = (users) => { emails = new Map(users.map((u) => [u.id, u.email])); load(); };
  return section;
}
