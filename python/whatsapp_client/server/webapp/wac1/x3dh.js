// X3DH (PROTOCOL.md §3): the initiator's side from a prekey bundle, the responder's side
// from the fields of a first message.

import { Wac1Error, concat, utf8 } from "./encoding.js";
import { hkdf, x25519, x25519KeyPair } from "./primitives.js";
import { verifySignedPrekey } from "./keys.js";

const ZERO_SALT = new Uint8Array(32);
const PREFIX = new Uint8Array(32).fill(0xff);
const INFO = utf8("WAC1/X3DH");

/** @typedef {import("./keys.js").Bundle} Bundle */
/** @typedef {import("./keys.js").Identity} Identity */
/** @typedef {import("./primitives.js").KeyPair} KeyPair */
/** @typedef {{sharedSecret: Uint8Array, associatedData: Uint8Array}} Agreement */

async function derive(/** @type {Uint8Array[]} */ dhs) {
  return hkdf(ZERO_SALT, concat(PREFIX, ...dhs), INFO, 32);
}

/**
 * The initiator's side: checks the signed prekey signature (`invalid_signature`), then
 * agrees with the bundle; a low-order key anywhere is `invalid_key`.
 * @param {Identity} identity
 * @param {Bundle} bundle
 * @param {KeyPair} [ephemeral] a fresh key pair unless given (test vectors fix it)
 * @returns {Promise<Agreement & {ephemeralPublic: Uint8Array}>}
 */
export async function initiate(identity, bundle, ephemeral) {
  const valid = await verifySignedPrekey(bundle.signingKey, bundle.signedPrekeyId, bundle.signedPrekey, bundle.signature);
  if (!valid) throw new Wac1Error("invalid_signature", "the signed prekey signature does not verify");
  const ek = ephemeral ?? (await x25519KeyPair());
  const dhs = [
    await x25519(identity.dh.privateKey, bundle.signedPrekey),
    await x25519(ek.privateKey, bundle.identityKey),
    await x25519(ek.privateKey, bundle.signedPrekey),
  ];
  if (bundle.oneTimePrekey !== null) dhs.push(await x25519(ek.privateKey, bundle.oneTimePrekey));
  return {
    sharedSecret: await derive(dhs),
    associatedData: concat(identity.dh.publicKey, bundle.identityKey),
    ephemeralPublic: ek.publicKey,
  };
}

/**
 * The responder's side, with its own private keys and the initiator's `ik` and `ek`.
 * @param {Identity} identity
 * @param {KeyPair} signedPrekey
 * @param {KeyPair | null} oneTimePrekey
 * @param {Uint8Array} initiatorIdentityKey
 * @param {Uint8Array} initiatorEphemeralKey
 * @returns {Promise<Agreement>}
 */
export async function respond(identity, signedPrekey, oneTimePrekey, initiatorIdentityKey, initiatorEphemeralKey) {
  const dhs = [
    await x25519(signedPrekey.privateKey, initiatorIdentityKey),
    await x25519(identity.dh.privateKey, initiatorEphemeralKey),
    await x25519(signedPrekey.privateKey, initiatorEphemeralKey),
  ];
  if (oneTimePrekey !== null) dhs.push(await x25519(oneTimePrekey.privateKey, initiatorEphemeralKey));
  return {
    sharedSecret: await derive(dhs),
    associatedData: concat(initiatorIdentityKey, identity.dh.publicKey),
  };
}
