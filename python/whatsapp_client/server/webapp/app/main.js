// The web chat app: open the vault, sign in (or resume the stored session), then wire the
// messenger to the views and connect.

import { ApiError, Api } from "./api.js";
import { forgetSession, savedSession, signIn } from "./auth.js";
import { ContactsView } from "./contacts.js";
import { ConversationView } from "./conversation.js";
import { Messenger } from "./messenger.js";
import { SafetyView } from "./safety.js";
import { Vault } from "./vault.js";

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const CONNECTION_TEXT = { connecting: "connecting…", online: "connected", offline: "offline: reconnecting…" };

/** A stored session whose token the server still accepts (kept as is when offline). */
async function resumable(/** @type {Vault} */ vault) {
  const session = await savedSession(vault);
  if (session === null) return null;
  try {
    await new Api(session.token).call("GET", "/api/users/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      await forgetSession(vault);
      return null;
    }
  }
  return session;
}

/**
 * Holds this browser's app lock for the page's lifetime: false when another tab has it. Two
 * tabs would each advance the same ratchets from their own copy and undo each other's writes.
 */
function takeTheLock() {
  return new Promise((resolve) => {
    void navigator.locks.request("wac-webchat-app", { ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      return lock === null ? undefined : new Promise(() => {});
    });
  });
}

async function main() {
  if (!(await takeTheLock())) {
    document.body.textContent = "The chat is open in another tab of this browser. Close that tab, then reload this one.";
    return;
  }
  const vault = await Vault.open();
  const session = (await resumable(vault)) ?? (await signIn(vault));
  const api = new Api(session.token);
  const messenger = await Messenger.start(vault, api, session.user);
  $("chat-view").hidden = false;
  $("me").textContent = session.user.username;
  const conversation = new ConversationView(messenger);
  const contacts = new ContactsView(messenger, (id, name) => void conversation.open(id, name));
  const safety = new SafetyView(messenger);
  $("safety-button").addEventListener("click", () => {
    if (conversation.current !== null) void safety.show(conversation.current);
  });
  $("back-button").addEventListener("click", () => {
    conversation.close();
    contacts.current = null;
    void contacts.render();
  });
  messenger.addEventListener("connection", (e) => {
    const state = /** @type {CustomEvent} */ (e).detail.state;
    $("connection").textContent = CONNECTION_TEXT[/** @type {keyof CONNECTION_TEXT} */ (state)] ?? state;
    document.body.dataset.connection = state;
  });
  messenger.addEventListener("problem", (e) => {
    $("send-error").textContent = /** @type {CustomEvent} */ (e).detail.message;
  });
  const leave = async () => {
    messenger.close();
    await forgetSession(vault);
    location.reload();
  };
  messenger.addEventListener("signedout", () => void leave());
  $("logout-button").addEventListener("click", async () => {
    try {
      await api.call("POST", "/api/auth/logout");
    } finally {
      await leave();
    }
  });
  await contacts.render();
  messenger.connect();
}

main().catch((error) => {
  document.body.textContent = `The app could not start: ${error instanceof Error ? error.message : error}`;
});
