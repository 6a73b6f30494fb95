// The "New session" form: a name, the engine, and that engine's fields.

import { api } from "./api.js";
import { alertBox, field, h, select } from "./dom.js";

const ENGINE_FIELDS = {
  wac1: [
    ["Server URL", "server_url", "url"],
    ["Username", "username", "text"],
    ["Password", "password", "password"],
  ],
  cloud: [
    ["Phone number ID", "phone_number_id", "text"],
    ["Access token", "access_token", "password"],
    ["App secret", "app_secret", "password"],
    ["Verify token", "verify_token", "password"],
    ["Graph base URL", "base_url", "url"],
  ],
};
// Fields an engine can do without (the service fills in its default).
const OPTIONAL = new Set(["base_url"]);

export function sessionForm({ onCreated, onCancel }) {
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 100 });
  const engine = select("engine", ["wac1", "cloud"], "wac1");
  const inputs = {};
  const groups = {};
  for (const [kind, fields] of Object.entries(ENGINE_FIELDS)) {
    const box = h("fieldset", { class: "engine" }, h("legend", {}, kind + " settings"));
    for (const [label, key, type] of fields) {
      const input = h("input", { type, name: key, autocomplete: "off" });
      inputs[key] = input;
      box.append(field(label, input));
    }
    groups[kind] = box;
  }
  const register = h("input", { type: "checkbox", name: "register" });
  groups.wac1.append(h("div", { class: "field check" }, register,
    h("label", { for: (register.id = "new-register") }, "Register")));
  const webhook = h("input", { type: "url", name: "webhook_url", autocomplete: "off" });
  const error = alertBox();
  const create = h("button", { type: "submit", class: "primary" }, "Create");
  const cancel = h("button", { type: "button", onclick: () => onCancel() }, "Cancel");
  const form = h("form", { class: "card", "aria-labelledby": "new-session-title" },
    h("h2", { id: "new-session-title" }, "New session"),
    field("Name", name),
    field("Engine", engine),
    groups.wac1, groups.cloud,
    field("Webhook URL", webhook, "Optional: where events of this session are posted."),
    error,
    h("div", { class: "actions" }, create, cancel));

  const sync = () => {
    for (const [kind, box] of Object.entries(groups)) {
      const active = kind === engine.value;
      box.hidden = !active;
      for (const input of box.querySelectorAll("input:not([type=checkbox])")) {
        input.required = active && !OPTIONAL.has(input.name);
        input.disabled = !active;
      }
    }
  };
  engine.addEventListener("change", sync);
  sync();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.show("");
    const body = { name: name.value.trim(), engine: engine.value };
    for (const [, key] of ENGINE_FIELDS[engine.value]) {
      if (inputs[key].value.trim()) body[key] = inputs[key].value.trim();
    }
    if (engine.value === "wac1") body.register = register.checked;
    if (webhook.value.trim()) body.webhooks = [{ url: webhook.value.trim() }];
    create.disabled = true;
    try {
      const session = await api.post("/sessions", body);
      onCreated(session);
    } catch (err) {
      error.show(err.message);
    } finally {
      create.disabled = false;
    }
  });
  return { form, focus: name };
}
