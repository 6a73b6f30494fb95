// State at rest: IndexedDB, every record sealed with AES-256-GCM under one key that
// WebCrypto generated as non-extractable. The key is itself kept in IndexedDB as a
// CryptoKey object: the browser stores it, but no script (ours included) can read its bytes,
// so a copy of the database files alone does not open the records. Each record's name is
// its associated data, so a sealed record moved to another slot does not open.

import { deserialize, serialize, utf8 } from "../wac1/index.js";

const DATABASE = "wac-webchat";
const VERSION = 1;
const KEYS = "keys";
const RECORDS = "records";
const MASTER = "master";

/** @returns {Promise<IDBDatabase>} */
function openDatabase() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, VERSION);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(KEYS);
      request.result.createObjectStore(RECORDS);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** @template T @param {IDBRequest<T>} request @returns {Promise<T>} */
function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** @param {IDBTransaction} tx @returns {Promise<void>} */
function committed(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
  });
}

export class Vault {
  /** @param {IDBDatabase} db @param {CryptoKey} key */
  constructor(db, key) {
    this.db = db;
    this.key = key;
  }

  /** The vault of this browser profile; the sealing key is made on first use. */
  static async open() {
    const db = await openDatabase();
    const stored = () => done(db.transaction(KEYS).objectStore(KEYS).get(MASTER));
    let key = await stored();
    if (!(key instanceof CryptoKey)) {
      const fresh = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
      const tx = db.transaction(KEYS, "readwrite");
      tx.objectStore(KEYS).add(fresh, MASTER); // `add`: never replaces a key another tab stored first
      try {
        await committed(tx);
      } catch {
        // lost the race: use the key that is there
      }
      key = await stored();
      if (!(key instanceof CryptoKey)) throw new Error("the browser did not keep the vault key");
    }
    return new Vault(db, key);
  }

  /** @param {string} name @param {unknown} value */
  async seal(name, value) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: utf8(name) }, this.key, utf8(serialize(value)));
    return { iv, data: new Uint8Array(data) };
  }

  /**
   * The record, or `fallback` when there is none. A record that does not open throws.
   * @param {string} name
   * @param {unknown} [fallback]
   * @returns {Promise<unknown>}
   */
  async get(name, fallback = null) {
    const sealed = await done(this.db.transaction(RECORDS).objectStore(RECORDS).get(name));
    if (sealed === undefined) return fallback;
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: sealed.iv, additionalData: utf8(name) }, this.key, sealed.data);
    return deserialize(new TextDecoder().decode(plain));
  }

  /**
   * Writes several records in one transaction: all of them or none. They are sealed first,
   * because an IndexedDB transaction commits by itself as soon as it waits on anything else.
   * @param {Array<[string, unknown]>} entries
   */
  async putAll(entries) {
    const sealed = await Promise.all(entries.map(([name, value]) => this.seal(name, value)));
    const tx = this.db.transaction(RECORDS, "readwrite");
    const store = tx.objectStore(RECORDS);
    entries.forEach(([name], i) => store.put(sealed[i], name));
    await committed(tx);
  }

  async put(/** @type {string} */ name, /** @type {unknown} */ value) {
    await this.putAll([[name, value]]);
  }

  async remove(/** @type {string} */ name) {
    const tx = this.db.transaction(RECORDS, "readwrite");
    tx.objectStore(RECORDS).delete(name);
    await committed(tx);
  }

  /** Names of the records that start with `prefix`. */
  async names(/** @type {string} */ prefix) {
    const range = IDBKeyRange.bound(prefix, prefix + "\uffff");
    const keys = await done(this.db.transaction(RECORDS).objectStore(RECORDS).getAllKeys(range));
    return keys.map(String);
  }
}
