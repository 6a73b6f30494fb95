// The Double Ratchet's functions as PROTOCOL.md §4 fixes them: KDF_RK, KDF_CK, the message
// key expansion, the header bytes and ENCRYPT / DECRYPT of one message.

import { Wac1Error, concat, u32be, utf8 } from "./encoding.js";
import { aesGcmOpen, aesGcmSeal, aesKey, hkdf, hmacSha256 } from "./primitives.js";

const ZERO_SALT = new Uint8Array(32);
const RATCHET_INFO = utf8("WAC1/ratchet");
const MESSAGE_INFO = utf8("WAC1/message");

/** @typedef {{dh: Uint8Array, pn: number, n: number}} Header */

/**
 * `KDF_RK(rk, dh_out)`: the new root key and a chain key.
 * @param {Uint8Array} rootKey
 * @param {Uint8Array} dhOut
 * @returns {Promise<{rootKey: Uint8Array, chainKey: Uint8Array}>}
 */
export async function kdfRk(rootKey, dhOut) {
  const out = await hkdf(rootKey, dhOut, RATCHET_INFO, 64);
  return { rootKey: out.slice(0, 32), chainKey: out.slice(32) };
}

/**
 * `KDF_CK(ck)`: the message key and the next chain key.
 * @param {Uint8Array} chainKey
 * @returns {Promise<{messageKey: Uint8Array, chainKey: Uint8Array}>}
 */
export async function kdfCk(chainKey) {
  const messageKey = await hmacSha256(chainKey, Uint8Array.of(0x01));
  const next = await hmacSha256(chainKey, Uint8Array.of(0x02));
  return { messageKey, chainKey: next };
}

/**
 * The AES-256-GCM key and nonce of a message key.
 * @param {Uint8Array} messageKey
 * @returns {Promise<{aesKey: Uint8Array, nonce: Uint8Array}>}
 */
export async function messageKeys(messageKey) {
  const out = await hkdf(ZERO_SALT, messageKey, MESSAGE_INFO, 44);
  return { aesKey: out.slice(0, 32), nonce: out.slice(32) };
}

/**
 * `dh_pub (32) || u32be(pn) || u32be(n)`.
 * @param {Header} header
 * @returns {Uint8Array}
 */
export function headerBytes(header) {
  if (header.dh.length !== 32) throw new Wac1Error("invalid_message", "header key is not 32 bytes");
  return concat(header.dh, u32be(header.pn), u32be(header.n));
}

/**
 * ENCRYPT(mk, plaintext, ad).
 * @param {Uint8Array} messageKey
 * @param {Uint8Array} plaintext
 * @param {Uint8Array} associatedData
 * @returns {Promise<Uint8Array>}
 */
export async function sealMessage(messageKey, plaintext, associatedData) {
  const keys = await messageKeys(messageKey);
  return aesGcmSeal(await aesKey(keys.aesKey), keys.nonce, plaintext, associatedData);
}

/**
 * DECRYPT(mk, ciphertext, ad); `decryption_failed` when it does not authenticate.
 * @param {Uint8Array} messageKey
 * @param {Uint8Array} ciphertext
 * @param {Uint8Array} associatedData
 * @returns {Promise<Uint8Array>}
 */
export async function openMessage(messageKey, ciphertext, associatedData) {
  const keys = await messageKeys(messageKey);
  return aesGcmOpen(await aesKey(keys.aesKey), keys.nonce, ciphertext, associatedData);
}
