// Byte helpers shared by every WAC1 module: strict base64 (PROTOCOL.md §1), u32be,
// concatenation, hex, a constant-time comparison for secrets, MACs and digests, and the
// checks that parse untrusted JSON (objects, u32 fields).

/** An error carrying one of the protocol's machine codes (`invalid_key`, ...). */
export class Wac1Error extends Error {
  /**
   * @param {string} code the protocol error code
   * @param {string} message a human explanation (never secret material)
   */
  constructor(code, message) {
    super(message);
    this.name = "Wac1Error";
    this.code = code;
  }
}

// Standard alphabet, padding required, no whitespace (RFC 4648 §4). A flat pattern: a
// nested group would make the regex engine recurse per group and overflow on megabytes.
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const CHUNK = 0x8000;
// The native base64 methods (Uint8Array.fromBase64, .toBase64) are newer than TypeScript
// 4.8's lib: typed here as optional, used where the browser has them.
/** @typedef {{fromBase64?: (text: string, options: {lastChunkHandling: "strict"}) => Uint8Array}} NativeFromBase64 */
/** @typedef {{toBase64?: () => string}} NativeToBase64 */
const NATIVE = /** @type {Uint8ArrayConstructor & NativeFromBase64} */ (Uint8Array);

/**
 * Standard base64 with padding.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function toBase64(bytes) {
  const native = /** @type {Uint8Array & NativeToBase64} */ (bytes);
  if (typeof native.toBase64 === "function") return native.toBase64();
  let text = "";
  for (let i = 0; i < bytes.length; i += CHUNK) {
    text += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, i + CHUNK)));
  }
  return btoa(text);
}

/**
 * Decodes strict, canonical base64; anything else is `invalid_message`.
 * @param {unknown} text
 * @param {string} [what] the field, for the error message
 * @returns {Uint8Array}
 */
export function fromBase64(text, what = "value") {
  if (typeof text !== "string" || text.length % 4 !== 0 || !BASE64.test(text)) {
    throw new Wac1Error("invalid_message", `${what} is not valid base64`);
  }
  // Unused low bits of the last group must be zero: one value, one encoding.
  if (typeof NATIVE.fromBase64 === "function") {
    try {
      return NATIVE.fromBase64(text, { lastChunkHandling: "strict" });
    } catch {
      throw new Wac1Error("invalid_message", `${what} is not canonical base64`);
    }
  }
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  if (toBase64(out) !== text) {
    throw new Wac1Error("invalid_message", `${what} is not canonical base64`);
  }
  return out;
}

/**
 * A 32-byte key in base64, as every public key on the wire is.
 * @param {unknown} text
 * @param {string} what
 * @returns {Uint8Array}
 */
export function decodeKey(text, what) {
  const key = fromBase64(text, what);
  if (key.length !== 32) {
    throw new Wac1Error("invalid_message", `${what} is ${key.length} bytes, not 32`);
  }
  return key;
}

/** base64url without padding (JWK members) to bytes. */
export function fromBase64Url(/** @type {string} */ text) {
  const standard = text.replace(/-/g, "+").replace(/_/g, "/");
  return fromBase64(standard + "=".repeat((4 - (standard.length % 4)) % 4), "JWK member");
}

/**
 * Whether `value` is a JSON object (not null, not an array).
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
export function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Whether `value` is an integer that fits an unsigned 32-bit field.
 * @param {unknown} value
 * @returns {value is number}
 */
export function isU32(value) {
  return Number.isInteger(value) && /** @type {number} */ (value) >= 0 && /** @type {number} */ (value) <= 0xffffffff;
}

/**
 * Unsigned 32-bit big-endian.
 * @param {number} value
 * @returns {Uint8Array}
 */
export function u32be(value) {
  if (!isU32(value)) throw new Wac1Error("invalid_message", `${value} is not a u32`);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, false);
  return out;
}

/**
 * Byte concatenation (`||`).
 * @param {...Uint8Array} parts
 * @returns {Uint8Array}
 */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const ENCODER = new TextEncoder();

/** The bytes of a label or text (UTF-8; labels are ASCII). */
export function utf8(/** @type {string} */ text) {
  return ENCODER.encode(text);
}

/** Lowercase hex. */
export function toHex(/** @type {Uint8Array} */ bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Hex (either case) to bytes; `invalid_message` on anything else.
 * @param {string} text
 * @returns {Uint8Array}
 */
export function fromHex(text) {
  if (typeof text !== "string" || !/^(?:[0-9a-fA-F]{2})*$/.test(text)) {
    throw new Wac1Error("invalid_message", "not hex");
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Compares two byte strings in time that depends only on their lengths.
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 * @returns {boolean}
 */
export function constantTimeEqual(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
