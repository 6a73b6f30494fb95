// The WebCrypto calls WAC1 needs: X25519, Ed25519, HKDF-SHA256, HMAC-SHA256, AES-256-GCM,
// SHA-256/512. Private keys are held as raw 32-byte strings (so state can be stored) and
// imported as PKCS#8 for each use; WebCrypto has no raw private-key import for the curves.

import { Wac1Error, concat, fromBase64Url, fromHex } from "./encoding.js";

const subtle = globalThis.crypto.subtle;
// PKCS#8 PrivateKeyInfo headers of RFC 8410 for a 32-byte X25519 / Ed25519 private key.
const X25519_PKCS8 = fromHex("302e020100300506032b656e04220420");
const ED25519_PKCS8 = fromHex("302e020100300506032b657004220420");

/** @typedef {{privateKey: Uint8Array, publicKey: Uint8Array}} KeyPair */

/** `n` bytes from the browser's CSPRNG. */
export function randomBytes(/** @type {number} */ n) {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

function checkLength(/** @type {Uint8Array} */ bytes, /** @type {string} */ what) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
    throw new Wac1Error("invalid_key", `${what} must be 32 bytes`);
  }
}

async function importPrivate(/** @type {Uint8Array} */ raw, /** @type {string} */ algorithm) {
  checkLength(raw, `${algorithm} private key`);
  const header = algorithm === "X25519" ? X25519_PKCS8 : ED25519_PKCS8;
  /** @type {KeyUsage[]} */
  const usages = algorithm === "X25519" ? ["deriveBits"] : ["sign"];
  return subtle.importKey("pkcs8", concat(header, raw), { name: algorithm }, true, usages);
}

async function publicOf(/** @type {Uint8Array} */ raw, /** @type {string} */ algorithm) {
  const jwk = await subtle.exportKey("jwk", await importPrivate(raw, algorithm));
  return fromBase64Url(/** @type {string} */ (jwk.x));
}

/** The X25519 public key of a private key. */
export async function x25519PublicKey(/** @type {Uint8Array} */ privateKey) {
  return publicOf(privateKey, "X25519");
}

/**
 * A key pair for a given private key (or a fresh random one).
 * @param {Uint8Array} [privateKey]
 * @returns {Promise<KeyPair>}
 */
export async function x25519KeyPair(privateKey = randomBytes(32)) {
  return { privateKey: privateKey.slice(), publicKey: await x25519PublicKey(privateKey) };
}

/**
 * X25519 agreement. A low-order or malformed public key (all-zero output) is refused with
 * `invalid_key`, as PROTOCOL.md §3 requires.
 * @param {Uint8Array} privateKey
 * @param {Uint8Array} publicKey
 * @returns {Promise<Uint8Array>}
 */
export async function x25519(privateKey, publicKey) {
  checkLength(publicKey, "X25519 public key");
  const mine = await importPrivate(privateKey, "X25519");
  let shared;
  try {
    const theirs = await subtle.importKey("raw", publicKey, { name: "X25519" }, false, []);
    shared = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: theirs }, mine, 256));
  } catch {
    throw new Wac1Error("invalid_key", "X25519 with a low-order or invalid public key");
  }
  if (shared.every((b) => b === 0)) throw new Wac1Error("invalid_key", "X25519 output is all zero");
  return shared;
}

/** The Ed25519 public key of a 32-byte private seed. */
export async function ed25519PublicKey(/** @type {Uint8Array} */ seed) {
  return publicOf(seed, "Ed25519");
}

/** Ed25519 signature (deterministic, RFC 8032). */
export async function ed25519Sign(/** @type {Uint8Array} */ seed, /** @type {Uint8Array} */ message) {
  const key = await importPrivate(seed, "Ed25519");
  return new Uint8Array(await subtle.sign({ name: "Ed25519" }, key, message));
}

/**
 * Whether `signature` is a valid Ed25519 signature of `message` by `publicKey`; a malformed
 * key or signature is simply not valid.
 * @param {Uint8Array} publicKey
 * @param {Uint8Array} message
 * @param {Uint8Array} signature
 * @returns {Promise<boolean>}
 */
export async function ed25519Verify(publicKey, message, signature) {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    const key = await subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    return await subtle.verify({ name: "Ed25519" }, key, signature, message);
  } catch {
    return false;
  }
}

/**
 * HKDF-SHA256.
 * @param {Uint8Array} salt
 * @param {Uint8Array} ikm
 * @param {Uint8Array} info
 * @param {number} length output bytes
 * @returns {Promise<Uint8Array>}
 */
export async function hkdf(salt, ikm, info, length) {
  const key = await subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const bits = await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, length * 8);
  return new Uint8Array(bits);
}

/** HMAC-SHA256. */
export async function hmacSha256(/** @type {Uint8Array} */ key, /** @type {Uint8Array} */ data) {
  const imported = await subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await subtle.sign("HMAC", imported, data));
}

/** An AES-256-GCM key for several operations (attachments seal many chunks under one). */
export async function aesKey(/** @type {Uint8Array} */ raw) {
  checkLength(raw, "AES-256 key");
  return subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

/**
 * AES-256-GCM: ciphertext followed by its 16-byte tag.
 * @param {CryptoKey} key
 * @param {Uint8Array} nonce 12 bytes
 * @param {Uint8Array} plaintext
 * @param {Uint8Array} associatedData
 * @returns {Promise<Uint8Array>}
 */
export async function aesGcmSeal(key, nonce, plaintext, associatedData) {
  const params = { name: "AES-GCM", iv: nonce, additionalData: associatedData, tagLength: 128 };
  return new Uint8Array(await subtle.encrypt(params, key, plaintext));
}

/**
 * Opens AES-256-GCM output; any failure (short input, wrong tag) is `decryption_failed`.
 * @param {CryptoKey} key
 * @param {Uint8Array} nonce
 * @param {Uint8Array} sealed
 * @param {Uint8Array} associatedData
 * @returns {Promise<Uint8Array>}
 */
export async function aesGcmOpen(key, nonce, sealed, associatedData) {
  if (sealed.length < 16) throw new Wac1Error("decryption_failed", "ciphertext shorter than its tag");
  try {
    const params = { name: "AES-GCM", iv: nonce, additionalData: associatedData, tagLength: 128 };
    return new Uint8Array(await subtle.decrypt(params, key, sealed));
  } catch {
    throw new Wac1Error("decryption_failed", "authentication failed: tampered or wrong key");
  }
}

/** SHA-256. */
export async function sha256(/** @type {Uint8Array} */ data) {
  return new Uint8Array(await subtle.digest("SHA-256", data));
}

/** SHA-512. */
export async function sha512(/** @type {Uint8Array} */ data) {
  return new Uint8Array(await subtle.digest("SHA-512", data));
}
