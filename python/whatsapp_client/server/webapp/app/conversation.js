// The open conversation: its messages as list items (text, media, receipts), the composer
// (`Message`, `Send`, emoji, attachments), typing and presence, the identity-change warning.

import { isGroup } from "./store.js";
import { payloadOf, renderMedia } from "./media.js";

const EMOJI = ["😀", "😂", "😊", "😍", "😢", "😮", "👍", "👎", "🙏", "👏", "🎉", "❤️", "🔥", "✅", "🤔", "🙌"];
const STATUS_MARKS = { pending: ["🕓", "sending"], sent: ["✓", "sent"], delivered: ["✓✓", "delivered"], read: ["✓✓", "read"] };
const TYPING_IDLE_MS = 3000;
const MAX_TEXT_BYTES = 10_000; // PROTOCOL.md §5: receivers accept at most this much by default

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

export class ConversationView {
  /** @param {import("./messenger.js").Messenger} messenger */
  constructor(messenger) {
    this.messenger = messenger;
    /** @type {string | null} */
    this.current = null;
    /** @type {Record<string, string>} */
    this.names = {};
    /** @type {Map<string, {online: boolean, last_seen?: number}>} */
    this.presence = new Map();
    this.typingFrom = new Set();
    this.typingSent = false;
    /** @type {number | undefined} */
    this.typingTimer = undefined;
    this.rendering = Promise.resolve();
    this.bindComposer();
    messenger.addEventListener("history", (e) => {
      const { conversation, incoming } = /** @type {CustomEvent} */ (e).detail;
      if (conversation !== this.current) return;
      void this.render();
      if (incoming) void this.readIfVisible();
    });
    messenger.addEventListener("typing", (e) => {
      const { from, typing } = /** @type {CustomEvent} */ (e).detail;
      if (typing) this.typingFrom.add(from);
      else this.typingFrom.delete(from);
      this.showPeerStatus();
    });
    messenger.addEventListener("presence", (e) => {
      const frame = /** @type {CustomEvent} */ (e).detail;
      this.presence.set(frame.user_id, { online: frame.online === true, last_seen: frame.last_seen });
      this.showPeerStatus();
    });
    messenger.addEventListener("ready", () => void this.readIfVisible());
    document.addEventListener("visibilitychange", () => void this.readIfVisible());
  }

  /** Opens a conversation (a peer id or `g:<group id>`). */
  async open(/** @type {string} */ conversation, /** @type {string} */ name) {
    this.current = conversation;
    $("placeholder").hidden = true;
    $("conversation-panel").hidden = false;
    $("peer-name").textContent = name;
    $("safety-button").hidden = isGroup(conversation);
    document.querySelector(".chat")?.classList.add("open");
    await this.render();
    this.showPeerStatus();
    await this.readIfVisible();
    $("message-box").focus();
  }

  close() {
    this.current = null;
    document.querySelector(".chat")?.classList.remove("open");
  }

  async readIfVisible() {
    if (this.current !== null && document.visibilityState === "visible") await this.messenger.markRead(this.current);
  }

  showPeerStatus() {
    const peer = this.current;
    const status = $("peer-status");
    if (peer === null || isGroup(peer)) {
      status.textContent = "";
      return;
    }
    const seen = this.presence.get(peer);
    if (this.typingFrom.has(peer)) status.textContent = "typing…";
    else if (seen?.online) status.textContent = "online";
    else if (seen?.last_seen) status.textContent = `last seen ${new Date(seen.last_seen).toLocaleString()}`;
    else status.textContent = "";
  }

  /** Draws the current conversation from the store (one render at a time). */
  render() {
    this.rendering = this.rendering.then(() => this.draw()).catch((error) => {
      $("send-error").textContent = String(error?.message ?? error);
    });
    return this.rendering;
  }

  async draw() {
    const conversation = this.current;
    if (conversation === null) return;
    const store = this.messenger.store;
    const [history, contact] = await Promise.all([store.history(conversation), store.contact(conversation)]);
    if (conversation !== this.current) return;
    this.names = contact?.members ?? {};
    const warning = $("identity-warning");
    warning.hidden = !contact?.identityChanged;
    warning.textContent = contact?.identityChanged
      ? `${contact.name}'s security keys have changed (a new device, a reinstall, or someone in between). Compare the safety number again.`
      : "";
    const list = $("messages");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const known = new Map([...list.children].map((li) => [/** @type {HTMLElement} */ (li).dataset.id, /** @type {HTMLElement} */ (li)]));
    const items = history.map((entry) => {
      const old = known.get(entry.id);
      if (old === undefined) return this.item(entry, isGroup(conversation));
      // Kept as it is (an image is not decoded or downloaded again); only the receipt moves.
      if (old.dataset.status !== entry.status) this.showStatus(old, entry.status);
      return old;
    });
    list.replaceChildren(...items);
    if (atBottom || items.length > 0) list.scrollTop = list.scrollHeight;
  }

  /**
   * One message as a list item.
   * @param {import("./store.js").Entry} entry
   * @param {boolean} group
   */
  item(entry, group) {
    const li = document.createElement("li");
    li.dataset.id = entry.id;
    li.dataset.status = entry.status;
    li.classList.toggle("mine", entry.outgoing);
    if (group && !entry.outgoing) {
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = this.names[entry.from] ?? entry.from.slice(0, 8);
      li.append(who);
    }
    const payload = entry.payload ?? {};
    if (entry.refused) {
      li.classList.add("refused");
      li.textContent = `A message could not be decrypted and was refused (${entry.refused}).`;
      return li;
    }
    if (payload.type === "text") {
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = String(payload.text ?? "");
      li.append(text);
    } else if (payload.type === "image" || payload.type === "file" || payload.type === "video" || payload.type === "audio") {
      renderMedia(li, payload, this.messenger.api);
    } else {
      li.append(`A ${String(payload.type)} message this app cannot show.`);
    }
    const meta = document.createElement("span");
    meta.className = "meta";
    const time = document.createElement("time");
    time.dateTime = new Date(entry.timestamp).toISOString();
    time.textContent = new Date(entry.timestamp).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    meta.append(time);
    li.append(meta);
    if (entry.outgoing && !group) {
      meta.append(document.createElement("span"));
      this.showStatus(li, entry.status);
    }
    return li;
  }

  /** The receipt mark of an item: 🕓 ✓ ✓✓ and a blue ✓✓, with its word for screen readers. */
  showStatus(/** @type {HTMLElement} */ li, /** @type {string} */ value) {
    li.dataset.status = value;
    const status = li.querySelector(".meta > span:last-child");
    if (status === null) return;
    const [mark, word] = STATUS_MARKS[/** @type {keyof STATUS_MARKS} */ (value)] ?? ["", value];
    status.className = `status ${value}`;
    status.textContent = ` ${mark}`;
    status.setAttribute("aria-label", word);
    status.setAttribute("title", word);
  }

  bindComposer() {
    const form = /** @type {HTMLFormElement} */ ($("composer"));
    const box = /** @type {HTMLTextAreaElement} */ ($("message-box"));
    const attach = /** @type {HTMLInputElement} */ ($("attach"));
    const error = $("send-error");
    const send = async () => {
      const text = box.value;
      if (this.current === null || text.trim() === "") return;
      if (new TextEncoder().encode(text).length > MAX_TEXT_BYTES) {
        error.textContent = `Too long: a message holds at most ${MAX_TEXT_BYTES} bytes of text.`;
        return;
      }
      error.textContent = "";
      box.value = "";
      this.stopTyping();
      try {
        await this.messenger.send(this.current, { type: "text", text });
      } catch (failure) {
        box.value = text; // nothing was stored: give the text back
        error.textContent = `Not sent: ${failure instanceof Error ? failure.message : failure}`;
      }
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void send();
    });
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        void send();
      }
    });
    box.addEventListener("input", () => this.typing());
    attach.addEventListener("change", async () => {
      const file = attach.files?.[0];
      attach.value = "";
      if (file === undefined || this.current === null) return;
      error.textContent = "";
      try {
        if (isGroup(this.current)) throw new Error("groups take text only");
        await this.messenger.send(this.current, await payloadOf(file, this.messenger.api));
      } catch (failure) {
        error.textContent = `Not sent: ${failure instanceof Error ? failure.message : failure}`;
      }
    });
    this.bindEmoji(box);
  }

  bindEmoji(/** @type {HTMLTextAreaElement} */ box) {
    const button = $("emoji-button");
    const panel = $("emoji-panel");
    for (const emoji of EMOJI) {
      const choice = document.createElement("button");
      choice.type = "button";
      choice.textContent = emoji;
      choice.setAttribute("aria-label", `Insert ${emoji}`);
      choice.addEventListener("click", () => {
        box.setRangeText(emoji, box.selectionStart, box.selectionEnd, "end");
        box.focus();
      });
      panel.append(choice);
    }
    button.addEventListener("click", () => {
      panel.hidden = !panel.hidden;
      button.setAttribute("aria-expanded", String(!panel.hidden));
    });
  }

  typing() {
    if (this.current === null) return;
    if (!this.typingSent) {
      this.messenger.sendTyping(this.current, true);
      this.typingSent = true;
    }
    window.clearTimeout(this.typingTimer);
    this.typingTimer = window.setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    window.clearTimeout(this.typingTimer);
    if (this.typingSent && this.current !== null) this.messenger.sendTyping(this.current, false);
    this.typingSent = false;
  }
}
