// What the app keeps for one account, as records of the vault (each one sealed):
//   account:<me>            the WAC1 account (identity, prekeys)
//   conversations:<me>      contacts and groups: name, unread count, verified flag
//   peer:<me>:<peer>        the sessions with one peer (wac1.js PeerRecord)
//   history:<me>:<conv>     the messages of one conversation, oldest first
//   outbox:<me>             frames sealed and stored but not yet answered `sent`
//   uploaded:<me>           true once the server holds the account's keys
// `commit` changes several of them in one transaction: a ratchet step, the history entry
// and the outbox are stored together or not at all. Each record holds what this module put
// under its name (sealed under that name, so records cannot be swapped): its getters name
// that type.

import { emptyRecord } from "../wac1/index.js";

const STATUS_ORDER = ["pending", "sent", "delivered", "read"];

/**
 * @typedef {import("../wac1/keys.js").Account} Account
 * @typedef {import("../wac1/peer.js").PeerRecord} PeerRecord
 * @typedef {Record<string, unknown>} Payload a §5 plaintext (`type` and its members)
 * @typedef {{id: string, from: string, payload: Payload, timestamp: number, status: string,
 *   outgoing: boolean, refused?: string}} Entry
 * @typedef {{id: string, name: string, kind: "peer" | "group", unread: number, lastAt: number,
 *   verified?: string | null, identityChanged?: boolean, members?: Record<string, string>}} Conversation
 * @typedef {{type: string, id: string} & Record<string, unknown>} OutgoingFrame
 * @typedef {{conversation: string, frame: OutgoingFrame}} Outgoing
 * @typedef {{conversation: string, record?: PeerRecord, account?: Account | null, append?: Entry[], unread?: number,
 *   outboxAdd?: Outgoing[], outboxRemove?: string[],
 *   status?: {ids: string[], status: string, timestamp?: number}}} Change
 */

export function groupConversation(/** @type {string} */ groupId) {
  return `g:${groupId}`;
}

export function isGroup(/** @type {string} */ conversation) {
  return conversation.startsWith("g:");
}

export class Store {
  /** @param {import("./vault.js").Vault} vault @param {string} me */
  constructor(vault, me) {
    this.vault = vault;
    this.me = me;
  }

  names() {
    const me = this.me;
    return {
      account: `account:${me}`,
      conversations: `conversations:${me}`,
      outbox: `outbox:${me}`,
      peer: (/** @type {string} */ id) => `peer:${me}:${id}`,
      history: (/** @type {string} */ id) => `history:${me}:${id}`,
    };
  }

  /** @returns {Promise<Account | null>} */
  account() {
    return /** @type {Promise<Account | null>} */ (this.vault.get(this.names().account));
  }

  saveAccount(/** @type {Account} */ account) {
    return this.vault.put(this.names().account, account);
  }

  /** Whether the server holds this account's keys (`PUT /api/keys` succeeded). */
  async keysUploaded() {
    return (await this.vault.get(`uploaded:${this.me}`)) === true;
  }

  markKeysUploaded() {
    return this.vault.put(`uploaded:${this.me}`, true);
  }

  /** @returns {Promise<Record<string, Conversation>>} */
  conversations() {
    return /** @type {Promise<Record<string, Conversation>>} */ (this.vault.get(this.names().conversations, {}));
  }

  /** The peers among the conversations. */
  async contacts() {
    return Object.fromEntries(Object.entries(await this.conversations()).filter(([, c]) => c.kind === "peer"));
  }

  async contact(/** @type {string} */ id) {
    return (await this.conversations())[id] ?? null;
  }

  /** @returns {Promise<PeerRecord>} */
  peer(/** @type {string} */ id) {
    return /** @type {Promise<PeerRecord>} */ (this.vault.get(this.names().peer(id), emptyRecord()));
  }

  /** @returns {Promise<Entry[]>} */
  history(/** @type {string} */ conversation) {
    return /** @type {Promise<Entry[]>} */ (this.vault.get(this.names().history(conversation), []));
  }

  async hasEntry(/** @type {string} */ conversation, /** @type {unknown} */ id) {
    return (await this.history(conversation)).some((e) => e.id === id);
  }

  /** @returns {Promise<Outgoing[]>} */
  outbox() {
    return /** @type {Promise<Outgoing[]>} */ (this.vault.get(this.names().outbox, []));
  }

  async updateConversations(/** @type {(all: Record<string, Conversation>) => void} */ change) {
    const all = await this.conversations();
    change(all);
    await this.vault.put(this.names().conversations, all);
  }

  addContact(/** @type {{id: string, username: string}} */ user) {
    return this.updateConversations((all) => {
      all[user.id] ??= { id: user.id, name: user.username, kind: "peer", unread: 0, lastAt: 0, verified: null, identityChanged: false };
    });
  }

  addGroup(/** @type {{id: string, name: string, members?: {user_id: string, username: string}[]}} */ group) {
    const id = groupConversation(group.id);
    return this.updateConversations((all) => {
      all[id] ??= { id, name: group.name, kind: "group", unread: 0, lastAt: 0 };
      all[id].name = group.name;
      if (group.members) all[id].members = Object.fromEntries(group.members.map((m) => [m.user_id, m.username]));
    });
  }

  flagIdentityChange(/** @type {string} */ peerId) {
    return this.updateConversations((all) => {
      if (all[peerId] === undefined) return;
      all[peerId].verified = null;
      all[peerId].identityChanged = true;
    });
  }

  setVerified(/** @type {string} */ peerId, /** @type {string} */ fingerprint) {
    return this.updateConversations((all) => {
      if (all[peerId] === undefined) return;
      all[peerId].verified = fingerprint;
      all[peerId].identityChanged = false;
    });
  }

  clearUnread(/** @type {string} */ conversation) {
    return this.updateConversations((all) => {
      if (all[conversation] !== undefined) all[conversation].unread = 0;
    });
  }

  async setStatus(/** @type {string} */ conversation, /** @type {string[]} */ ids, /** @type {string} */ status) {
    await this.commit({ conversation, status: { ids, status } });
  }

  /** Applies a change to the records it touches, in one transaction. */
  async commit(/** @type {Change} */ change) {
    const n = this.names();
    /** @type {Array<[string, unknown]>} */
    const writes = [];
    if (change.account) writes.push([n.account, change.account]);
    if (change.record) writes.push([n.peer(change.conversation), change.record]);
    if (change.append || change.status) {
      const history = await this.history(change.conversation);
      for (const entry of change.append ?? []) history.push(entry);
      if (change.status) applyStatus(history, change.status);
      writes.push([n.history(change.conversation), history]);
    }
    if (change.outboxAdd || change.outboxRemove) {
      const remove = new Set(change.outboxRemove ?? []);
      const before = await this.outbox();
      const outbox = [...before.filter((o) => !remove.has(o.frame.id)), ...(change.outboxAdd ?? [])];
      if (outbox.length !== before.length || change.outboxAdd) writes.push([n.outbox, outbox]);
    }
    if (change.append) {
      const all = await this.conversations();
      const entry = all[change.conversation];
      if (entry !== undefined) {
        entry.unread += change.unread ?? 0;
        entry.lastAt = Math.max(entry.lastAt, ...change.append.map((e) => e.timestamp));
        writes.push([n.conversations, all]);
      }
    }
    await this.vault.putAll(writes);
  }
}

/** Statuses only move forward: pending, sent, delivered, read. */
function applyStatus(/** @type {Entry[]} */ history, /** @type {{ids: string[], status: string, timestamp?: number}} */ update) {
  const ids = new Set(update.ids);
  const rank = STATUS_ORDER.indexOf(update.status);
  for (const entry of history) {
    if (!ids.has(entry.id)) continue;
    if (STATUS_ORDER.indexOf(entry.status) < rank) entry.status = update.status;
    if (update.timestamp !== undefined && update.status === "sent") entry.timestamp = update.timestamp;
  }
}
