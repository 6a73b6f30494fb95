// Signing in: the form with `Username`, `Password`, `Log in` and `Register`. The token the
// server answers is kept sealed in the vault so that a reload stays signed in.

import { Api, ApiError } from "./api.js";

const SESSION = "session";

/** @typedef {{token: string, user: import("./api.js").User}} Session */

/** The session stored by an earlier sign-in, or null. */
export async function savedSession(/** @type {import("./vault.js").Vault} */ vault) {
  return /** @type {Promise<Session | null>} */ (vault.get(SESSION));
}

export async function forgetSession(/** @type {import("./vault.js").Vault} */ vault) {
  await vault.remove(SESSION);
}

/**
 * Shows the form until the user signs in or registers; resolves with the session.
 * @param {import("./vault.js").Vault} vault
 * @returns {Promise<Session>}
 */
export function signIn(vault) {
  const view = /** @type {HTMLElement} */ (document.getElementById("auth-view"));
  const form = /** @type {HTMLFormElement} */ (document.getElementById("auth-form"));
  const username = /** @type {HTMLInputElement} */ (document.getElementById("username"));
  const password = /** @type {HTMLInputElement} */ (document.getElementById("password"));
  const register = /** @type {HTMLButtonElement} */ (document.getElementById("register-button"));
  const error = /** @type {HTMLElement} */ (document.getElementById("auth-error"));
  view.hidden = false;
  username.focus();
  return new Promise((resolve) => {
    const submit = async (/** @type {"login" | "register"} */ action) => {
      error.textContent = "";
      const name = username.value.trim().toLowerCase();
      if (name.length < 3 || password.value.length < 8) {
        error.textContent = "A username of 3 to 32 characters (a-z 0-9 _ . -) and a password of at least 8 characters.";
        return;
      }
      for (const button of form.querySelectorAll("button")) button.disabled = true;
      try {
        const answer = /** @type {import("./api.js").AuthAnswer} */ (await new Api().call("POST", `/api/auth/${action}`, { username: name, password: password.value }));
        /** @type {Session} */
        const session = { token: answer.token, user: answer.user };
        await vault.put(SESSION, session);
        password.value = "";
        view.hidden = true;
        resolve(session);
      } catch (failure) {
        error.textContent = failure instanceof ApiError ? failure.message : String(failure);
      } finally {
        for (const button of form.querySelectorAll("button")) button.disabled = false;
      }
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void submit("login");
    });
    register.addEventListener("click", () => void submit("register"));
  });
}
