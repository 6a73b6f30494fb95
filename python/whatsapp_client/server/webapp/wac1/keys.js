// Keys of an account (PROTOCOL.md §2): the identity (X25519 IK + Ed25519 SK), signed
// prekeys and one-time prekeys, the prekey bundle, fingerprints and safety numbers.
// Accounts are plain objects of Uint8Arrays and numbers: functions return new ones.

import { Wac1Error, concat, constantTimeEqual, decodeKey, fromBase64, fromHex, isObject, isU32, toBase64, toHex, u32be, utf8 } from "./encoding.js";
import { ed25519PublicKey, ed25519Sign, ed25519Verify, randomBytes, sha256, sha512, x25519KeyPair } from "./primitives.js";

/** @typedef {import("./primitives.js").KeyPair} KeyPair */
/** @typedef {{dh: KeyPair, signing: KeyPair}} Identity */
/** @typedef {{keyId: number, keyPair: KeyPair, signature: Uint8Array, createdAt: number}} SignedPrekey */
/** @typedef {{keyId: number, keyPair: KeyPair}} OneTimePrekey */
/**
 * @typedef {{identity: Identity, signedPrekeys: SignedPrekey[], oneTimePrekeys: OneTimePrekey[],
 *   nextSignedPrekeyId: number, nextOneTimePrekeyId: number}} Account
 */
/**
 * @typedef {{identityKey: Uint8Array, signingKey: Uint8Array, signedPrekeyId: number,
 *   signedPrekey: Uint8Array, signature: Uint8Array, oneTimePrekeyId: number | null,
 *   oneTimePrekey: Uint8Array | null}} Bundle
 */

const SPK_LABEL = utf8("WAC1/spk");
const FINGERPRINT_LABEL = utf8("WAC1/fingerprint");
const SAFETY_LABEL = utf8("WAC1/safety");

/**
 * An identity from its two private keys, or a fresh random one.
 * @param {Uint8Array} [dhPrivate]
 * @param {Uint8Array} [signingPrivate] the Ed25519 seed
 * @returns {Promise<Identity>}
 */
export async function createIdentity(dhPrivate, signingPrivate = randomBytes(32)) {
  const dh = await x25519KeyPair(dhPrivate);
  const signing = { privateKey: signingPrivate.slice(), publicKey: await ed25519PublicKey(signingPrivate) };
  return { dh, signing };
}

/** The bytes a signed prekey signature covers: `"WAC1/spk" || u32be(key_id) || SPK_pub`. */
export function signedPrekeyMessage(/** @type {number} */ keyId, /** @type {Uint8Array} */ publicKey) {
  return concat(SPK_LABEL, u32be(keyId), publicKey);
}

/**
 * A signed prekey signed by the identity.
 * @param {Identity} identity
 * @param {number} keyId
 * @param {Uint8Array} [privateKey]
 * @param {number} [createdAt] Unix seconds
 * @returns {Promise<SignedPrekey>}
 */
export async function createSignedPrekey(identity, keyId, privateKey, createdAt = Math.floor(Date.now() / 1000)) {
  const keyPair = await x25519KeyPair(privateKey);
  const signature = await ed25519Sign(identity.signing.privateKey, signedPrekeyMessage(keyId, keyPair.publicKey));
  return { keyId, keyPair, signature, createdAt };
}

/** Whether a signed prekey signature verifies under the signing key. */
export async function verifySignedPrekey(
  /** @type {Uint8Array} */ signingKey, /** @type {number} */ keyId,
  /** @type {Uint8Array} */ publicKey, /** @type {Uint8Array} */ signature,
) {
  return ed25519Verify(signingKey, signedPrekeyMessage(keyId, publicKey), signature);
}

/**
 * A new account: a fresh identity, signed prekey 1 and `oneTimeCount` one-time prekeys.
 * @param {{oneTimeCount?: number}} options (optional)
 * @returns {Promise<Account>}
 */
export async function createAccount({ oneTimeCount = 100 } = {}) {
  const identity = await createIdentity();
  const account = {
    identity,
    signedPrekeys: [await createSignedPrekey(identity, 1)],
    oneTimePrekeys: [],
    nextSignedPrekeyId: 2,
    nextOneTimePrekeyId: 1,
  };
  return addOneTimePrekeys(account, oneTimeCount);
}

/**
 * The account with `count` more one-time prekeys (ids continue from the last one).
 * @param {Account} account
 * @param {number} count
 * @returns {Promise<Account>}
 */
export async function addOneTimePrekeys(account, count) {
  const added = [];
  let next = account.nextOneTimePrekeyId;
  for (let i = 0; i < count; i++) added.push({ keyId: next++, keyPair: await x25519KeyPair() });
  if (!isU32(next)) throw new Wac1Error("invalid_key", "one-time prekey ids exhausted");
  return { ...account, oneTimePrekeys: [...account.oneTimePrekeys, ...added], nextOneTimePrekeyId: next };
}

/**
 * The account with a new current signed prekey; older ones stay for late first messages
 * (the caller drops them after their grace period with `dropSignedPrekeysBefore`).
 * @param {Account} account
 * @returns {Promise<Account>}
 */
export async function rotateSignedPrekey(account) {
  const fresh = await createSignedPrekey(account.identity, account.nextSignedPrekeyId);
  return { ...account, signedPrekeys: [fresh, ...account.signedPrekeys], nextSignedPrekeyId: account.nextSignedPrekeyId + 1 };
}

/** The account without non-current signed prekeys created before `createdBefore`. */
export function dropSignedPrekeysBefore(/** @type {Account} */ account, /** @type {number} */ createdBefore) {
  const [current, ...older] = account.signedPrekeys;
  return { ...account, signedPrekeys: [current, ...older.filter((k) => k.createdAt >= createdBefore)] };
}

/** The body of `PUT /api/keys` (§6.2), base64 values. */
export function keysPayload(/** @type {Account} */ account) {
  const spk = account.signedPrekeys[0];
  return {
    identity_key: toBase64(account.identity.dh.publicKey),
    signing_key: toBase64(account.identity.signing.publicKey),
    signed_prekey: { key_id: spk.keyId, public_key: toBase64(spk.keyPair.publicKey), signature: toBase64(spk.signature) },
    one_time_prekeys: account.oneTimePrekeys.map((k) => ({ key_id: k.keyId, public_key: toBase64(k.keyPair.publicKey) })),
  };
}

/**
 * The bundle as the server would hand it out (§6.3), with the given one-time prekey.
 * @param {Account} account
 * @param {number | null} [oneTimePrekeyId]
 */
export function bundleOf(account, oneTimePrekeyId = null) {
  const spk = account.signedPrekeys[0];
  const opk = oneTimePrekeyId === null ? undefined : account.oneTimePrekeys.find((k) => k.keyId === oneTimePrekeyId);
  if (oneTimePrekeyId !== null && opk === undefined) throw new Wac1Error("unknown_prekey", `no one-time prekey ${oneTimePrekeyId}`);
  return {
    identity_key: toBase64(account.identity.dh.publicKey),
    signing_key: toBase64(account.identity.signing.publicKey),
    signed_prekey: { key_id: spk.keyId, public_key: toBase64(spk.keyPair.publicKey), signature: toBase64(spk.signature) },
    one_time_prekey: opk ? { key_id: opk.keyId, public_key: toBase64(opk.keyPair.publicKey) } : null,
  };
}

/**
 * A bundle's `one_time_prekey` member checked: null when absent or null.
 * @param {unknown} opk
 * @returns {{key_id: number, public_key: unknown} | null}
 */
function oneTimePrekeyOf(opk) {
  if (opk === undefined || opk === null) return null;
  if (!isObject(opk) || !isU32(opk.key_id)) throw new Wac1Error("invalid_message", "invalid one_time_prekey");
  return { key_id: opk.key_id, public_key: opk.public_key };
}

/**
 * Parses a bundle from the server's JSON; malformed input is `invalid_message`.
 * @param {unknown} json
 * @returns {Bundle}
 */
export function parseBundle(json) {
  const body = isObject(json) ? json : {};
  const spk = body.signed_prekey;
  if (!isObject(spk) || !isU32(spk.key_id)) throw new Wac1Error("invalid_message", "bundle without a valid signed_prekey");
  const opk = oneTimePrekeyOf(body.one_time_prekey);
  const signature = fromBase64(spk.signature, "signed_prekey.signature");
  if (signature.length !== 64) throw new Wac1Error("invalid_message", "signature is not 64 bytes");
  return {
    identityKey: decodeKey(body.identity_key, "identity_key"),
    signingKey: decodeKey(body.signing_key, "signing_key"),
    signedPrekeyId: spk.key_id,
    signedPrekey: decodeKey(spk.public_key, "signed_prekey.public_key"),
    signature,
    oneTimePrekeyId: opk === null ? null : opk.key_id,
    oneTimePrekey: opk === null ? null : decodeKey(opk.public_key, "one_time_prekey.public_key"),
  };
}

/** `hex(SHA-256("WAC1/fingerprint" || IK_pub || SK_pub))`. */
export async function fingerprint(/** @type {Uint8Array} */ identityKey, /** @type {Uint8Array} */ signingKey) {
  return toHex(await sha256(concat(FINGERPRINT_LABEL, identityKey, signingKey)));
}

function fingerprintBytes(/** @type {string} */ text) {
  const bytes = fromHex(text);
  if (bytes.length !== 32) throw new Wac1Error("invalid_message", "a fingerprint is 64 hex characters");
  return bytes;
}

function compareBytes(/** @type {Uint8Array} */ a, /** @type {Uint8Array} */ b) {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/**
 * The 60-digit safety number of two fingerprints, the same whichever comes first (§2).
 * @param {string} fingerprintA
 * @param {string} fingerprintB
 * @returns {Promise<string>}
 */
export async function safetyNumber(fingerprintA, fingerprintB) {
  const [a, b] = [fingerprintBytes(fingerprintA), fingerprintBytes(fingerprintB)].sort(compareBytes);
  const h = await sha512(concat(SAFETY_LABEL, a, b));
  let out = "";
  for (let i = 0; i < 12; i++) {
    let value = 0;
    // Five bytes are at most 2^40: exact in a double.
    for (let j = 0; j < 5; j++) value = value * 256 + h[5 * i + j];
    out += String(value % 100000).padStart(5, "0");
  }
  return out;
}

/** Constant-time, case-insensitive comparison of two fingerprints. */
export function compareFingerprints(/** @type {string} */ a, /** @type {string} */ b) {
  try {
    return constantTimeEqual(fingerprintBytes(a), fingerprintBytes(b));
  } catch {
    return false;
  }
}

/** The fingerprint QR payload `WAC1-FP:<user_id>:<fingerprint>`. */
export function fingerprintQrPayload(/** @type {string} */ userId, /** @type {string} */ fp) {
  return `WAC1-FP:${userId}:${fp.toLowerCase()}`;
}
