// Encrypted attachments (PROTOCOL.md §8): the plaintext in 65,536-byte chunks, each sealed
// with AES-256-GCM under a fresh key K, nonce = 7 zero bytes || u32be(i) || final flag,
// associated data "WAC1/attachment"; digest = SHA-256(blob).

import { Wac1Error, constantTimeEqual, u32be, utf8 } from "./encoding.js";
import { aesGcmOpen, aesGcmSeal, aesKey, randomBytes, sha256 } from "./primitives.js";

export const CHUNK_SIZE = 65536;
const TAG = 16;
const AD = utf8("WAC1/attachment");

/** @typedef {{key: Uint8Array, digest: Uint8Array, size: number}} AttachmentKeys */

function chunkCount(/** @type {number} */ size) {
  return Math.max(1, Math.ceil(size / CHUNK_SIZE));
}

/** Blob bytes for `size` plaintext bytes: `size + 16 × max(1, ceil(size / 65536))`. */
export function blobSize(/** @type {number} */ size) {
  return size + TAG * chunkCount(size);
}

function nonce(/** @type {number} */ index, /** @type {boolean} */ last) {
  const out = new Uint8Array(12);
  out.set(u32be(index), 7);
  out[11] = last ? 1 : 0;
  return out;
}

/**
 * Seals `plaintext` under a fresh key (or `key`, for test vectors): `{blob, key, digest, size}`.
 * @param {Uint8Array} plaintext
 * @param {Uint8Array} [key]
 * @returns {Promise<AttachmentKeys & {blob: Uint8Array}>}
 */
export async function sealAttachment(plaintext, key = randomBytes(32)) {
  const cryptoKey = await aesKey(key);
  const count = chunkCount(plaintext.length);
  const blob = new Uint8Array(blobSize(plaintext.length));
  for (let i = 0; i < count; i++) {
    const chunk = plaintext.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE);
    blob.set(await aesGcmSeal(cryptoKey, nonce(i, i === count - 1), chunk, AD), i * (CHUNK_SIZE + TAG));
  }
  return { blob, key: key.slice(), digest: await sha256(blob), size: plaintext.length };
}

/**
 * Opens a whole blob: length and digest are checked before anything is decrypted, then every
 * chunk in order. Any failure is `attachment_corrupt`, and no plaintext is returned.
 * @param {Uint8Array} blob
 * @param {AttachmentKeys} keys what the message carried
 * @returns {Promise<Uint8Array>}
 */
export async function openAttachment(blob, { key, digest, size }) {
  const corrupt = (/** @type {string} */ why) => new Wac1Error("attachment_corrupt", `attachment is corrupt: ${why}`);
  if (!Number.isSafeInteger(size) || size < 0 || blob.length !== blobSize(size)) throw corrupt("wrong length");
  if (digest.length !== 32 || !constantTimeEqual(await sha256(blob), digest)) throw corrupt("digest mismatch");
  let cryptoKey;
  try {
    cryptoKey = await aesKey(key);
  } catch {
    throw corrupt("the key is not 32 bytes");
  }
  const count = chunkCount(size);
  const plaintext = new Uint8Array(size);
  for (let i = 0; i < count; i++) {
    const start = i * (CHUNK_SIZE + TAG);
    const sealed = blob.subarray(start, Math.min(start + CHUNK_SIZE + TAG, blob.length));
    try {
      plaintext.set(await aesGcmOpen(cryptoKey, nonce(i, i === count - 1), sealed, AD), i * CHUNK_SIZE);
    } catch {
      throw corrupt(`chunk ${i} does not authenticate (tampered, reordered or truncated)`);
    }
  }
  return plaintext;
}
