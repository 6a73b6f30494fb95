// The chat engine of one signed-in account, without any DOM: end-to-end encryption with
// wac1.js, the local history, the outbox and the frames of PROTOCOL.md §7. Every change is
// stored (sealed, in one IndexedDB transaction) before anything leaves the page or is
// acknowledged: a message is sealed and put in the outbox before it is sent, and a received
// message is stored before its `ack`. Work runs one step at a time, so that two frames never
// advance the same ratchet concurrently.

import * as wac1 from "../wac1/index.js";
import { Connection } from "./connection.js";
import { Store, groupConversation, isGroup } from "./store.js";

const STATUS_ORDER = ["pending", "sent", "delivered", "read"];
const READ_BATCH = 100;
const PREKEY_LOW_WATER = 20;
const PREKEY_REFILL = 50;
const DAY_S = 86_400;
const SIGNED_PREKEY_ROTATION_S = 7 * DAY_S;
const SIGNED_PREKEY_KEEP_S = 14 * DAY_S;

/** @typedef {import("./store.js").Entry} Entry */
/** @typedef {import("../wac1/keys.js").Account} Account */
/** @typedef {import("./connection.js").Frame} Frame */
/** @typedef {import("./api.js").User} User */
/** @typedef {import("./api.js").Group} Group */

export class Messenger extends EventTarget {
  /**
   * @param {Store} store
   * @param {import("./api.js").Api} api
   * @param {{id: string, username: string}} user
   * @param {Account} account
   */
  constructor(store, api, user, account) {
    super();
    this.store = store;
    this.api = api;
    this.user = user;
    this.account = account;
    /** @type {Promise<unknown>} */
    this.queue = Promise.resolve();
    /** @type {Connection | null} */
    this.connection = null;
    this.connectionState = "offline";
  }

  /**
   * The messenger of a signed-in user: its keys from the vault, or new ones uploaded to the
   * server (a first sign-in in this browser).
   * @param {import("./vault.js").Vault} vault
   * @param {import("./api.js").Api} api
   * @param {{id: string, username: string}} user
   */
  static async start(vault, api, user) {
    const store = new Store(vault, user.id);
    let account = await store.account();
    if (account === null) {
      account = await wac1.createAccount();
      await store.saveAccount(account); // before the upload: the server never holds keys we lost
    }
    if (!(await store.keysUploaded())) {
      // Also retried on the next start when the upload failed (offline, server down).
      await api.call("PUT", "/api/keys", wac1.keysPayload(account));
      await store.markKeysUploaded();
    }
    return new Messenger(store, api, user, account);
  }

  /**
   * Runs `step` after every step before it; its failure does not stop the queue.
   * @template T
   * @param {() => Promise<T>} step
   * @returns {Promise<T>}
   */
  run(step) {
    const next = this.queue.then(step);
    this.queue = next.catch((error) => this.emit("problem", { message: String(error?.message ?? error) }));
    return next;
  }

  emit(/** @type {string} */ type, /** @type {unknown} */ detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  connect() {
    this.connection = new Connection(/** @type {string} */ (this.api.token), {
      onFrame: (frame) => { this.run(() => this.handle(frame)); },
      onReady: () => { this.run(() => this.resume()); },
      onState: (state) => {
        this.connectionState = state;
        this.emit("connection", { state });
      },
      onRejected: () => this.emit("signedout"),
    });
    this.connection.open();
  }

  close() {
    this.connection?.close();
  }

  /** After every (re)connection: resend the outbox, presence, groups, prekey upkeep. */
  async resume() {
    for (const { frame } of await this.store.outbox()) this.connection?.send(frame);
    const contacts = await this.store.contacts();
    const ids = Object.keys(contacts);
    if (ids.length > 0) this.connection?.send({ type: "subscribe_presence", user_ids: ids });
    this.emit("ready");
    await this.syncGroups();
    await this.maintainPrekeys();
  }

  /**
   * Prekey upkeep: a new signed prekey after a week (older ones kept two weeks for late first
   * messages), uploaded until the server has it; one-time prekeys refilled when it runs low.
   */
  async maintainPrekeys() {
    const now = Math.floor(Date.now() / 1000);
    if (now - this.account.signedPrekeys[0].createdAt >= SIGNED_PREKEY_ROTATION_S) {
      const rotated = await wac1.rotateSignedPrekey(this.account);
      await this.saveAccount(wac1.dropSignedPrekeysBefore(rotated, now - SIGNED_PREKEY_KEEP_S));
    }
    const status = /** @type {import("./api.js").KeyStatus} */ (await this.api.call("GET", "/api/keys/status"));
    if (status.signed_prekey_id !== this.account.signedPrekeys[0].keyId) {
      await this.api.call("PUT", "/api/keys/signed-prekey", wac1.keysPayload(this.account).signed_prekey);
    }
    if (status.available >= PREKEY_LOW_WATER) return;
    const start = this.account.nextOneTimePrekeyId;
    await this.saveAccount(await wac1.addOneTimePrekeys(this.account, PREKEY_REFILL));
    const added = wac1.keysPayload(this.account).one_time_prekeys.filter((k) => k.key_id >= start);
    await this.api.call("POST", "/api/keys/one-time-prekeys", { one_time_prekeys: added });
  }

  /** Stores the account before any peer can be handed its new keys. */
  async saveAccount(/** @type {Account} */ account) {
    await this.store.saveAccount(account);
    this.account = account;
  }

  // -- contacts and groups --------------------------------------------------------------

  /** Finds a user by name and adds it to the contacts: the contact, or null. */
  async findUser(/** @type {string} */ username) {
    const user = /** @type {User} */ (await this.api.call("GET", `/api/users?username=${encodeURIComponent(username)}`));
    if (user.id === this.user.id) return null;
    await this.run(() => this.store.addContact(user));
    this.connection?.send({ type: "subscribe_presence", user_ids: [user.id] });
    this.emit("contacts");
    return user;
  }

  async createGroup(/** @type {string} */ name, /** @type {string[]} */ memberIds) {
    const group = /** @type {Group} */ (await this.api.call("POST", "/api/groups", { name, member_ids: memberIds }));
    await this.run(() => this.store.addGroup(group));
    this.emit("contacts");
    return group;
  }

  /** Learns the groups one belongs to and fetches what was said while offline. */
  async syncGroups() {
    const { groups } = /** @type {{groups: Group[]}} */ (await this.api.call("GET", "/api/groups"));
    for (const group of groups) {
      await this.store.addGroup(group);
      const path = `/api/groups/${encodeURIComponent(group.id)}/messages?limit=100`;
      const { messages } = /** @type {{messages: Frame[]}} */ (await this.api.call("GET", path));
      for (const frame of messages.reverse()) await this.receiveGroup(frame);
    }
    this.emit("contacts");
  }

  // -- sending ----------------------------------------------------------------------------

  /**
   * Seals `payload` (PROTOCOL.md §5 plaintext) for `conversation` and sends it; the entry
   * is in the history and the outbox before the frame leaves.
   * @param {string} conversation a peer id, or `g:<group id>`
   * @param {Record<string, unknown>} payload
   */
  send(conversation, payload) {
    return this.run(async () => {
      const id = crypto.randomUUID();
      /** @type {Entry} */
      const entry = { id, from: this.user.id, payload, timestamp: Date.now(), status: "pending", outgoing: true };
      if (isGroup(conversation)) {
        const frame = { type: "group_message", id, group_id: conversation.slice(2), content: String(payload.text ?? "") };
        await this.store.commit({ conversation, append: [entry], outboxAdd: [{ conversation, frame }] });
        this.emit("history", { conversation });
        this.connection?.send(frame);
        return entry;
      }
      let record = await this.store.peer(conversation);
      if (!wac1.canEncrypt(record)) {
        const bundle = await this.api.call("GET", `/api/users/${encodeURIComponent(conversation)}/prekeys`);
        const started = await wac1.startSession(this.account, record, bundle);
        record = started.record;
        if (started.identityChanged) await this.identityChanged(conversation);
      }
      const sealed = await wac1.encryptTo(record, wac1.utf8(JSON.stringify(payload)));
      const frame = { type: "message", id, to: conversation, content: sealed.wire };
      await this.store.commit({ conversation, record: sealed.record, append: [entry], outboxAdd: [{ conversation, frame }] });
      this.emit("history", { conversation });
      this.connection?.send(frame);
      return entry;
    });
  }

  sendTyping(/** @type {string} */ peerId, /** @type {boolean} */ typing) {
    if (!isGroup(peerId)) this.connection?.send({ type: "typing", to: peerId, typing });
  }

  /** Read receipts for what `peerId` sent and this page has shown. */
  markRead(/** @type {string} */ peerId) {
    if (isGroup(peerId)) {
      return this.run(async () => {
        await this.store.clearUnread(peerId);
        this.emit("contacts");
      });
    }
    return this.run(async () => {
      const history = await this.store.history(peerId);
      const unread = history.filter((e) => !e.outgoing && !e.refused && e.status !== "read").map((e) => e.id);
      for (let i = 0; i < unread.length; i += READ_BATCH) {
        const ids = unread.slice(i, i + READ_BATCH);
        if (!this.connection?.send({ type: "read", peer_id: peerId, message_ids: ids })) return;
        await this.store.setStatus(peerId, ids, "read");
      }
      await this.store.clearUnread(peerId);
      this.emit("contacts");
    });
  }

  // -- receiving ----------------------------------------------------------------------------

  async handle(/** @type {Frame} */ frame) {
    switch (frame.type) {
      case "message": return this.receive(frame);
      case "sent": return this.sentAnswer(frame);
      case "status": return this.statusUpdate(frame);
      case "group_message": return this.receiveGroup(frame);
      case "typing": return this.emit("typing", { from: frame.from, typing: frame.typing === true });
      case "online": return this.emit("presence", frame);
      case "error": return this.emit("problem", { message: `${frame.code}: ${frame.message}` });
      default: return undefined;
    }
  }

  async receive(/** @type {Frame} */ frame) {
    const from = String(frame.from);
    if (await this.store.hasEntry(from, frame.id)) {
      this.connection?.send({ type: "ack", ids: [frame.id] }); // a resend: stored already
      return;
    }
    const base = { id: String(frame.id), from, timestamp: Number(frame.timestamp), outgoing: false, status: "delivered" };
    let change;
    try {
      const got = await wac1.decryptFrom(this.account, await this.store.peer(from), String(frame.content));
      const payload = parsePayload(new TextDecoder().decode(got.plaintext));
      if (got.identityChanged) await this.identityChanged(from);
      change = { conversation: from, record: got.record, account: got.account === this.account ? null : got.account, append: [{ ...base, payload }] };
    } catch (error) {
      if (!(error instanceof wac1.Wac1Error)) throw error; // not the message's fault: no ack, it comes again
      // Refused (tampered, replayed, not for us): the state is unchanged; the user is told.
      change = { conversation: from, append: [{ ...base, payload: { type: "refused" }, refused: error.code }] };
    }
    if (!(await this.store.contact(from))) {
      await this.store.addContact(/** @type {User} */ (await this.api.call("GET", `/api/users/${encodeURIComponent(from)}`)));
      this.connection?.send({ type: "subscribe_presence", user_ids: [from] });
    }
    await this.store.commit({ ...change, unread: 1 });
    if (change.account) this.account = change.account;
    this.connection?.send({ type: "ack", ids: [frame.id] });
    this.emit("history", { conversation: from, incoming: true });
    this.emit("contacts");
  }

  async receiveGroup(/** @type {Frame} */ frame) {
    const conversation = groupConversation(String(frame.group_id));
    if (await this.store.hasEntry(conversation, frame.id)) {
      if (frame.from === this.user.id) await this.sentAnswer(frame);
      return;
    }
    if (!(await this.store.contact(conversation))) {
      // A group one was just added to: its members' names come with it.
      const group = /** @type {Group} */ (await this.api.call("GET", `/api/groups/${encodeURIComponent(String(frame.group_id))}`));
      await this.store.addGroup(group);
    }
    /** @type {Entry} */
    const entry = {
      id: String(frame.id), from: String(frame.from), timestamp: Number(frame.timestamp),
      outgoing: frame.from === this.user.id, status: "sent", payload: { type: "text", text: String(frame.content) },
    };
    await this.store.commit({ conversation, append: [entry], unread: entry.outgoing ? 0 : 1 });
    this.emit("history", { conversation, incoming: !entry.outgoing });
    this.emit("contacts");
  }

  async sentAnswer(/** @type {Frame} */ frame) {
    const pending = (await this.store.outbox()).find((o) => o.frame.id === frame.id);
    if (pending === undefined) return;
    const id = pending.frame.id; // the same string as frame.id
    const timestamp = typeof frame.timestamp === "number" ? frame.timestamp : undefined;
    await this.store.commit({ conversation: pending.conversation, outboxRemove: [id], status: { ids: [id], status: "sent", timestamp } });
    this.emit("history", { conversation: pending.conversation });
  }

  async statusUpdate(/** @type {Frame} */ frame) {
    const conversation = String(frame.by);
    const ids = Array.isArray(frame.message_ids) ? frame.message_ids.map(String) : [];
    if (typeof frame.status !== "string" || !STATUS_ORDER.includes(frame.status)) return;
    await this.store.commit({ conversation, outboxRemove: ids, status: { ids, status: frame.status } });
    this.emit("history", { conversation });
  }

  async identityChanged(/** @type {string} */ peerId) {
    await this.store.flagIdentityChange(peerId);
    this.emit("identity", { peerId });
  }

  // -- safety numbers -------------------------------------------------------------------

  async ownFingerprint() {
    const id = this.account.identity;
    return wac1.fingerprint(id.dh.publicKey, id.signing.publicKey);
  }

  /** `{mine, theirs, safetyNumber}` for a peer with a session, or null. */
  async safety(/** @type {string} */ peerId) {
    const theirs = await wac1.peerFingerprint(await this.store.peer(peerId));
    if (theirs === null) return null;
    const mine = await this.ownFingerprint();
    return { mine, theirs, safetyNumber: await wac1.safetyNumber(mine, theirs) };
  }

  async markVerified(/** @type {string} */ peerId) {
    const safety = await this.safety(peerId);
    if (safety === null) return;
    await this.api.call("POST", "/api/verify-key", { peer_id: peerId, fingerprint: safety.theirs, verified: true });
    await this.run(() => this.store.setVerified(peerId, safety.theirs));
    this.emit("contacts");
  }
}

/**
 * A §5 payload: JSON objects as they are; anything else shown as text.
 * @param {string} text
 * @returns {import("./store.js").Payload}
 */
export function parsePayload(text) {
  try {
    /** @type {unknown} */
    const value = JSON.parse(text);
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      const payload = /** @type {import("./store.js").Payload} */ (value);
      if (typeof payload.type === "string") return payload;
    }
  } catch {
    // plain text from an older sender
  }
  return { type: "text", text };
}

export { STATUS_ORDER };
