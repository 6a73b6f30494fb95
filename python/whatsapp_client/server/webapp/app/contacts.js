// The sidebar: `Find user`, new groups, and the list of conversations (newest first, with
// unread counts). Choosing one opens it.

import { ApiError } from "./api.js";

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

export class ContactsView {
  /**
   * @param {import("./messenger.js").Messenger} messenger
   * @param {(id: string, name: string) => void} onOpen
   */
  constructor(messenger, onOpen) {
    this.messenger = messenger;
    this.onOpen = onOpen;
    /** @type {string | null} */
    this.current = null;
    messenger.addEventListener("contacts", () => void this.render());
    this.bindFind();
    this.bindGroups();
  }

  bindFind() {
    const form = $("find-form");
    const input = /** @type {HTMLInputElement} */ ($("find-user"));
    const error = $("find-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const name = input.value.trim().toLowerCase();
      if (name === "") return;
      error.textContent = "";
      try {
        const user = await this.messenger.findUser(name);
        if (user === null) {
          error.textContent = "That is you.";
          return;
        }
        input.value = "";
        this.open(user.id, user.username);
      } catch (failure) {
        error.textContent = failure instanceof ApiError && failure.code === "user_not_found" ? `No user named ${name}.` : String(failure);
      }
    });
  }

  bindGroups() {
    const form = $("group-form");
    const name = /** @type {HTMLInputElement} */ ($("group-name"));
    const members = /** @type {HTMLInputElement} */ ($("group-members"));
    const error = $("group-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      try {
        const ids = [];
        for (const username of members.value.split(",").map((m) => m.trim().toLowerCase()).filter(Boolean)) {
          const user = await this.messenger.findUser(username);
          if (user !== null) ids.push(user.id);
        }
        const group = await this.messenger.createGroup(name.value.trim(), ids);
        name.value = "";
        members.value = "";
        /** @type {HTMLDetailsElement} */ (form.closest("details")).open = false;
        this.open(`g:${group.id}`, group.name);
      } catch (failure) {
        error.textContent = failure instanceof Error ? failure.message : String(failure);
      }
    });
  }

  open(/** @type {string} */ id, /** @type {string} */ name) {
    this.current = id;
    this.onOpen(id, name);
    void this.render();
  }

  async render() {
    const all = Object.values(await this.messenger.store.conversations());
    all.sort((a, b) => b.lastAt - a.lastAt || a.name.localeCompare(b.name));
    const items = all.map((c) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.id = c.id;
      if (c.id === this.current) button.setAttribute("aria-current", "true");
      const label = document.createElement("span");
      label.textContent = c.kind === "group" ? `# ${c.name}` : c.name;
      button.append(label);
      if (c.unread > 0 && c.id !== this.current) {
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = String(c.unread);
        badge.setAttribute("aria-label", `${c.unread} unread`);
        button.append(badge);
      }
      button.addEventListener("click", () => this.open(c.id, c.name));
      li.append(button);
      return li;
    });
    $("conversations").replaceChildren(...items);
  }
}
