// The encrypted message on the wire (PROTOCOL.md §5): `E2EE:` followed by a JSON object.
// Encoding is compact with a fixed key order; parsing accepts any JSON formatting and key
// order and refuses, with `invalid_message`, everything §5 lists.

import { Wac1Error, decodeKey, fromBase64, isObject, isU32, toBase64 } from "./encoding.js";

export const PREFIX = "E2EE:";

// A counter written as `1.0`, `1e0` or `-0` parses to an integer in JavaScript; the reviver sees
// the source text (where the browser offers it) and marks such numbers so they are refused.
const NOT_AN_INTEGER = Symbol("not an integer literal");
const INTEGER_LITERAL = /^(?:0|[1-9][0-9]*)$/;

function markNonIntegers(/** @type {string} */ _key, /** @type {unknown} */ value, /** @type {{source?: string} | undefined} */ context) {
  if (typeof value === "number" && context?.source !== undefined && !INTEGER_LITERAL.test(context.source)) return NOT_AN_INTEGER;
  return value;
}

/** @typedef {import("./kdf.js").Header} Header */
/**
 * @typedef {{ik: Uint8Array, sk: Uint8Array, ek: Uint8Array, spkId: number,
 *   opkId: number | null}} X3dhFields
 */
/** @typedef {{header: Header, ciphertext: Uint8Array, x3dh: X3dhFields | null}} WireMessage */

/**
 * The wire string of a message.
 * @param {WireMessage} message
 * @returns {string}
 */
export function encodeWire(message) {
  const { header, ciphertext, x3dh } = message;
  /** @type {Record<string, unknown>} */
  const body = {
    v: 1,
    header: { dh: toBase64(header.dh), pn: header.pn, n: header.n },
    ciphertext: toBase64(ciphertext),
  };
  if (x3dh !== null) {
    body.x3dh = { ik: toBase64(x3dh.ik), sk: toBase64(x3dh.sk), ek: toBase64(x3dh.ek), spk_id: x3dh.spkId, opk_id: x3dh.opkId };
  }
  return PREFIX + JSON.stringify(body);
}

// JSON.parse keeps the last of duplicate members; a message whose meaning depends on the
// parser is refused instead. Runs on text JSON.parse accepted, so strings are well formed.
function hasDuplicateMembers(/** @type {string} */ text) {
  /** @type {(Set<string> | null)[]} */
  const open = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{") open.push(new Set());
    else if (c === "[") open.push(null);
    else if (c === "}" || c === "]") open.pop();
    else if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      let next = end + 1;
      while (/\s/.test(text[next] ?? "")) next++;
      const members = open[open.length - 1];
      if (text[next] === ":" && members) {
        const name = /** @type {string} */ (JSON.parse(text.slice(i, end + 1)));
        if (members.has(name)) return true;
        members.add(name);
      }
      i = end;
    }
  }
  return false;
}

function counter(/** @type {unknown} */ value, /** @type {string} */ what) {
  if (!isU32(value)) throw new Wac1Error("invalid_message", `${what} is not an integer in 0..2^32-1`);
  return value;
}

/**
 * Parses a wire string strictly.
 * @param {unknown} text
 * @returns {WireMessage}
 */
export function parseWire(text) {
  if (typeof text !== "string" || !text.startsWith(PREFIX)) {
    throw new Wac1Error("invalid_message", "missing the E2EE: prefix");
  }
  /** @type {unknown} */
  let body;
  try {
    // The reviver's third argument (the source text) is newer than TypeScript 4.8's lib, whose
    // reviver type takes two.
    const reviver = /** @type {(key: string, value: unknown) => unknown} */ (markNonIntegers);
    body = JSON.parse(text.slice(PREFIX.length), reviver);
  } catch {
    throw new Wac1Error("invalid_message", "malformed JSON");
  }
  if (!isObject(body)) throw new Wac1Error("invalid_message", "the message is not a JSON object");
  if (hasDuplicateMembers(text.slice(PREFIX.length))) throw new Wac1Error("invalid_message", "a JSON member appears twice");
  if (body.v !== 1) throw new Wac1Error("invalid_message", `unsupported version ${String(body.v)}`);
  if (!isObject(body.header)) throw new Wac1Error("invalid_message", "missing header");
  const header = {
    dh: decodeKey(body.header.dh, "header.dh"),
    pn: counter(body.header.pn, "header.pn"),
    n: counter(body.header.n, "header.n"),
  };
  const ciphertext = fromBase64(body.ciphertext, "ciphertext");
  let x3dh = null;
  // An explicit null reads as absent: both say "not a prekey message".
  if (body.x3dh !== undefined && body.x3dh !== null) {
    const x = body.x3dh;
    if (!isObject(x)) throw new Wac1Error("invalid_message", "x3dh is not an object");
    x3dh = {
      ik: decodeKey(x.ik, "x3dh.ik"),
      sk: decodeKey(x.sk, "x3dh.sk"),
      ek: decodeKey(x.ek, "x3dh.ek"),
      spkId: counter(x.spk_id, "x3dh.spk_id"),
      opkId: x.opk_id === null || x.opk_id === undefined ? null : counter(x.opk_id, "x3dh.opk_id"),
    };
  }
  return { header, ciphertext, x3dh };
}
