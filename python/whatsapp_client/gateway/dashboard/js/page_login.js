// The login form, and the "change your password" form shown while the account must
// change its password (first login, or after an admin reset it).

import { api } from "./api.js";
import { alertBox, field, h, noticeBox } from "./dom.js";

const MIN_PASSWORD = 12;

function loginForm(ctx) {
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", {
    type: "password", name: "password", autocomplete: "current-password", required: true,
  });
  const error = alertBox();
  const button = h("button", { type: "submit", class: "primary" }, "Log in");
  const form = h("form", { class: "card narrow", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Log in"),
    field("Email", email),
    field("Password", password),
    error,
    h("div", { class: "actions" }, button));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.show("");
    button.disabled = true;
    try {
      const answer = await api.post("/auth/login", { email: email.value.trim(), password: password.value }, { quiet: true });
      password.value = "";
      ctx.onLogin(answer.user);
    } catch (err) {
      error.show(err.code === "invalid_credentials"
        ? "Wrong email or password."
        : err.code === "too_many_requests"
          ? "Too many failed attempts; wait a moment and try again."
          : err.message);
      password.focus();
    } finally {
      button.disabled = false;
    }
  });
  return { form, focus: email };
}

function passwordForm(ctx) {
  const current = h("input", {
    type: "password", name: "current_password", autocomplete: "current-password", required: true,
  });
  const next = h("input", {
    type: "password", name: "new_password", autocomplete: "new-password", required: true,
    minlength: MIN_PASSWORD,
  });
  const error = alertBox();
  const notice = noticeBox();
  const button = h("button", { type: "submit", class: "primary" }, "Change password");
  const form = h("form", { class: "card narrow", "aria-labelledby": "password-title" },
    h("h1", { id: "password-title" }, "Change your password"),
    h("p", {}, "Choose a new password before you go on (at least " + MIN_PASSWORD + " characters)."),
    field("Current password", current),
    field("New password", next, "At least " + MIN_PASSWORD + " characters."),
    error, notice,
    h("div", { class: "actions" }, button));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.show("");
    if (next.value.length < MIN_PASSWORD) {
      error.show("The new password must be at least " + MIN_PASSWORD + " characters.");
      next.focus();
      return;
    }
    button.disabled = true;
    try {
      await api.post("/auth/password", { current_password: current.value, new_password: next.value }, { quiet: true });
      current.value = "";
      next.value = "";
      notice.show("Password changed.");
      const me = await api.get("/auth/me", undefined, { quiet: true });
      ctx.onLogin({ ...(me && me.user ? me.user : me), must_change_password: false });
    } catch (err) {
      error.show(err.message);
    } finally {
      button.disabled = false;
    }
  });
  return { form, focus: current };
}

export function mount(container, route, ctx) {
  const { form, focus } = ctx.mustChange ? passwordForm(ctx) : loginForm(ctx);
  container.append(form);
  focus.focus();
}
