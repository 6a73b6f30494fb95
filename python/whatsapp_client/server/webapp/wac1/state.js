// Serialising accounts, ratchet states and peer records. They are plain objects of
// Uint8Arrays, numbers, strings, arrays and null: IndexedDB stores them as they are
// (structured clone); for JSON, byte strings become {"$b64": "..."}.

import { Wac1Error, fromBase64, toBase64 } from "./encoding.js";

/** @returns {unknown} */
function encode(/** @type {unknown} */ value) {
  if (value instanceof Uint8Array) return { $b64: toBase64(value) };
  if (Array.isArray(value)) return value.map(encode);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
  }
  return value;
}

/** @returns {unknown} */
function decode(/** @type {unknown} */ value) {
  if (Array.isArray(value)) return value.map(decode);
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0][0] === "$b64") return fromBase64(entries[0][1], "stored bytes");
    return Object.fromEntries(entries.map(([k, v]) => [k, decode(v)]));
  }
  return value;
}

/**
 * JSON text of a state object (account, ratchet state, peer record).
 * @param {unknown} state
 * @returns {string}
 */
export function serialize(state) {
  return JSON.stringify(encode(state));
}

/**
 * The state object back from `serialize`'s text; malformed text is `corrupt_state`.
 * @param {string} text
 * @returns {unknown}
 */
export function deserialize(text) {
  try {
    return decode(JSON.parse(text));
  } catch (error) {
    throw new Wac1Error("corrupt_state", `cannot restore state: ${error instanceof Error ? error.message : error}`);
  }
}
