// Admin: users (create with Email and Role; Reset password, Disable / Enable, Delete).

import { api } from "./api.js";
import { alertBox, announce, clear, confirmDialog, field, formatTime, h, noticeBox, select, statusBadge } from "./dom.js";

export function usersSection(ctx, onUsers) {
  const email = h("input", { type: "email", name: "email", required: true, autocomplete: "off" });
  const role = select("role", ["user", "admin"], "user");
  const error = alertBox();
  const notice = noticeBox();
  const secret = h("div", { class: "secret", hidden: true });
  const body = h("tbody");
  const form = h("form", { class: "inline-form", "aria-label": "Create a user" },
    field("Email", email), field("Role", role),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create user")));
  const section = h("section", { "aria-labelledby": "users-title", class: "card" },
    h("h2", { id: "users-title" }, "Users"), form, error, notice, secret,
    h("div", { class: "table-wrap" }, h("table", {},
      h("caption", { class: "visually-hidden" }, "Users"),
      h("thead", {}, h("tr", {}, ...["Email", "Role", "State", "Last login", "Actions"].map((c) => h("th", { scope: "col" }, c)))),
      body)));

  // A temporary password, shown once (the API never shows it again).
  const showSecret = (who, password) => {
    clear(secret,
      h("p", {}, "Temporary password for " + who + " (shown once; it must be changed at the first login):"),
      h("code", { tabindex: "0" }, password));
    secret.hidden = false;
    secret.querySelector("code").focus();
  };

  const act = async (label, work) => {
    error.show("");
    try {
      await work();
      await load();
    } catch (err) {
      error.show(label + ": " + err.message);
    }
  };

  const userRow = (user) => {
    const path = "/users/" + encodeURIComponent(user.id);
    const self = ctx.user && ctx.user.id === user.id;
    const reset = h("button", { type: "button" }, "Reset password");
    const toggle = h("button", { type: "button" }, user.disabled ? "Enable" : "Disable");
    const remove = h("button", { type: "button", class: "danger", disabled: self }, "Delete");
    reset.addEventListener("click", () => act("Reset password", async () => {
      const answer = await api.post(path + "/reset-password");
      showSecret(user.email, answer.temporary_password);
    }));
    toggle.addEventListener("click", () => act(toggle.textContent, async () => {
      await api.patch(path, { disabled: !user.disabled });
      announce(user.email + (user.disabled ? " enabled" : " disabled"));
    }));
    remove.addEventListener("click", async () => {
      if (!(await confirmDialog("Delete the user " + user.email + "?", "Delete"))) { remove.focus(); return; }
      await act("Delete", async () => { await api.del(path); announce("Deleted " + user.email); });
    });
    return h("tr", { dataset: { userId: user.id } },
      h("th", { scope: "row" }, user.email),
      h("td", { "data-label": "Role" }, user.role),
      h("td", { "data-label": "State" }, statusBadge(user.disabled ? "disabled" : "active", "user-state"),
        user.must_change_password ? h("small", { class: "muted" }, " must change password") : null),
      h("td", { "data-label": "Last login" }, formatTime(user.last_login_at)),
      h("td", { "data-label": "Actions" }, h("div", { class: "actions row-actions" }, reset, toggle, remove)));
  };

  const load = async () => {
    try {
      const data = await api.get("/users");
      const users = data.users || data.items || [];
      clear(body, users.map(userRow));
      onUsers(users);
    } catch (err) {
      error.show(err.message);
    }
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act("Create user", async () => {
      const answer = await api.post("/users", { email: email.value.trim(), role: role.value });
      const created = answer.user || answer;
      notice.show("Created " + created.email + ".");
      if (answer.temporary_password) showSecret(created.email, answer.temporary_password);
      email.value = "";
    });
  });
  load();
  return section;
}
