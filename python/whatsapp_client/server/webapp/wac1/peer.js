// Everything held for one peer (PROTOCOL.md §5): the active session and up to five older
// ones, newest first; prekey messages matched to a stored session by `ik` + `ek`, or
// answered with the responder side of X3DH; identity changes reported. Like the ratchet,
// these functions never modify what they are given: they return the new record (and the
// new account when a one-time prekey was consumed), to be stored only on success.

import { Wac1Error, constantTimeEqual, utf8 } from "./encoding.js";
import { hmacSha256 } from "./primitives.js";
import { initiate, respond } from "./x3dh.js";
import { canSend, initiatorState, ratchetDecrypt, ratchetEncrypt, responderState } from "./ratchet.js";
import { encodeWire, parseWire } from "./wire.js";
import { fingerprint, parseBundle } from "./keys.js";

/** Older sessions kept per peer, besides the active one. */
export const MAX_OLD_SESSIONS = 5;

/** @typedef {import("./keys.js").Account} Account */
/** @typedef {import("./primitives.js").KeyPair} KeyPair */
/** @typedef {import("./ratchet.js").RatchetState} RatchetState */
/** @typedef {import("./wire.js").X3dhFields} X3dhFields */
/** @typedef {{identityKey: Uint8Array, signingKey: Uint8Array}} PeerIdentity */
/**
 * @typedef {{ratchet: RatchetState, associatedData: Uint8Array, peer: PeerIdentity,
 *   base: {ik: Uint8Array, ek: Uint8Array, tag: Uint8Array}, pendingX3dh: X3dhFields | null}} Session
 */
/** @typedef {{peer: PeerIdentity | null, sessions: Session[]}} PeerRecord */
/**
 * @typedef {{account: Account, record: PeerRecord, plaintext: Uint8Array, newSession: boolean,
 *   identityChanged: boolean, usedOneTimePrekey: number | null}} Decrypted
 */

const BASE_LABEL = utf8("WAC1/session-base");

// A one-way tag of the X3DH secret: two first messages that agree on it started the same
// session, whatever bytes their `ek` was written with.
async function baseTag(/** @type {Uint8Array} */ sharedSecret) {
  return hmacSha256(sharedSecret, BASE_LABEL);
}

/** A record with no session and no known identity. */
export function emptyRecord() {
  return /** @type {PeerRecord} */ ({ peer: null, sessions: [] });
}

function sameIdentity(/** @type {PeerIdentity} */ a, /** @type {PeerIdentity} */ b) {
  return constantTimeEqual(a.identityKey, b.identityKey) && constantTimeEqual(a.signingKey, b.signingKey);
}

/** The record with `session` active, at most five older ones, and its peer identity. */
function promoteNew(/** @type {PeerRecord} */ record, /** @type {Session} */ session) {
  const identityChanged = record.peer !== null && !sameIdentity(record.peer, session.peer);
  const sessions = [session, ...record.sessions].slice(0, 1 + MAX_OLD_SESSIONS);
  return { record: { peer: session.peer, sessions }, identityChanged };
}

/**
 * X3DH as initiator with a bundle (server JSON, §6.3); the new session becomes active.
 * @param {Account} account
 * @param {PeerRecord} record
 * @param {unknown} bundleJson
 * @param {{ephemeral?: KeyPair, ratchetKey?: KeyPair}} [fixed] fixed keys (test vectors only)
 * @returns {Promise<{record: PeerRecord, identityChanged: boolean}>}
 */
export async function startSession(account, record, bundleJson, fixed = {}) {
  const bundle = parseBundle(bundleJson);
  const agreed = await initiate(account.identity, bundle, fixed.ephemeral);
  const ratchet = await initiatorState(agreed.sharedSecret, bundle.signedPrekey, fixed.ratchetKey);
  const me = account.identity;
  /** @type {Session} */
  const session = {
    ratchet,
    associatedData: agreed.associatedData,
    peer: { identityKey: bundle.identityKey, signingKey: bundle.signingKey },
    base: { ik: me.dh.publicKey.slice(), ek: agreed.ephemeralPublic, tag: await baseTag(agreed.sharedSecret) },
    pendingX3dh: {
      ik: me.dh.publicKey.slice(),
      sk: me.signing.publicKey.slice(),
      ek: agreed.ephemeralPublic,
      spkId: bundle.signedPrekeyId,
      opkId: bundle.oneTimePrekeyId,
    },
  };
  return promoteNew(record, session);
}

/** Whether the active session can encrypt. */
export function canEncrypt(/** @type {PeerRecord} */ record) {
  return record.sessions.length > 0 && canSend(record.sessions[0].ratchet);
}

/**
 * Encrypts with the active session: `{record, wire}`. Store `record` before sending `wire`.
 * @param {PeerRecord} record
 * @param {Uint8Array} plaintext
 * @returns {Promise<{record: PeerRecord, wire: string}>}
 */
export async function encryptTo(record, plaintext) {
  const [active, ...older] = record.sessions;
  if (active === undefined) throw new Wac1Error("no_session", "no session with this peer");
  const out = await ratchetEncrypt(active.ratchet, plaintext, active.associatedData);
  const wire = encodeWire({ header: out.header, ciphertext: out.ciphertext, x3dh: active.pendingX3dh });
  return { record: { peer: record.peer, sessions: [{ ...active, ratchet: out.state }, ...older] }, wire };
}

async function decryptExisting(/** @type {Account} */ account, /** @type {PeerRecord} */ record, /** @type {number} */ index,
  /** @type {import("./wire.js").WireMessage} */ message, /** @type {import("./ratchet.js").RatchetOptions} */ options) {
  const session = record.sessions[index];
  const out = await ratchetDecrypt(session.ratchet, message.header, message.ciphertext, session.associatedData, options);
  // Having decrypted a reply, the peer knows the X3DH keys: stop sending them.
  const updated = { ...session, ratchet: out.state, pendingX3dh: null };
  const sessions = record.sessions.slice();
  sessions[index] = updated;
  // The peer uses an older session: make it ours too so both sides converge, unless it
  // belongs to an identity the peer has since replaced.
  if (index > 0 && (record.peer === null || sameIdentity(record.peer, session.peer))) {
    sessions.splice(index, 1);
    sessions.unshift(updated);
  }
  return { account, record: { peer: record.peer, sessions }, plaintext: out.plaintext, newSession: false, identityChanged: false, usedOneTimePrekey: null };
}

// p = 2^255 - 19, little-endian: ed ff .. ff 7f.
function isCanonicalU(/** @type {Uint8Array} */ key) {
  if (key[31] & 0x80) return false;
  if (key[31] !== 0x7f || key[0] < 0xed) return true;
  for (let i = 1; i < 31; i++) if (key[i] !== 0xff) return true;
  return false;
}

async function decryptNew(/** @type {Account} */ account, /** @type {PeerRecord} */ record, /** @type {X3dhFields} */ x,
  /** @type {import("./wire.js").WireMessage} */ message, /** @type {import("./ratchet.js").RatchetOptions} */ options) {
  // One ephemeral key, one encoding: another encoding of the same point would not match
  // the stored `ek` and would let a replayed first message start a second session.
  if (!isCanonicalU(x.ek)) throw new Wac1Error("invalid_key", "x3dh.ek is not a canonical X25519 key");
  const spk = account.signedPrekeys.find((k) => k.keyId === x.spkId);
  if (spk === undefined) throw new Wac1Error("unknown_prekey", `unknown signed prekey ${x.spkId}`);
  const opk = x.opkId === null ? null : account.oneTimePrekeys.find((k) => k.keyId === x.opkId);
  if (opk === undefined) throw new Wac1Error("unknown_prekey", `unknown one-time prekey ${x.opkId}`);
  const agreed = await respond(account.identity, spk.keyPair, opk === null ? null : opk.keyPair, x.ik, x.ek);
  const tag = await baseTag(agreed.sharedSecret);
  // The same secret under another `ek` encoding (a small-order point added, which X25519's
  // clamping cancels): a replayed first message in disguise, refused as the core does.
  if (record.sessions.some((s) => constantTimeEqual(s.base.tag, tag))) {
    throw new Wac1Error("invalid_key", "x3dh.ek is another encoding of a key already used");
  }
  const ratchet = responderState(agreed.sharedSecret, spk.keyPair);
  const out = await ratchetDecrypt(ratchet, message.header, message.ciphertext, agreed.associatedData, options);
  /** @type {Session} */
  const session = {
    ratchet: out.state,
    associatedData: agreed.associatedData,
    peer: { identityKey: x.ik.slice(), signingKey: x.sk.slice() },
    base: { ik: x.ik.slice(), ek: x.ek.slice(), tag },
    pendingX3dh: null,
  };
  const promoted = promoteNew(record, session);
  // The one-time prekey is deleted once the first message decrypted (§3).
  const updatedAccount = x.opkId === null ? account : { ...account, oneTimePrekeys: account.oneTimePrekeys.filter((k) => k.keyId !== x.opkId) };
  return { account: updatedAccount, record: promoted.record, plaintext: out.plaintext, newSession: true, identityChanged: promoted.identityChanged, usedOneTimePrekey: x.opkId };
}

/**
 * Decrypts a wire string from this peer. Nothing given is modified; on success store the
 * returned `account` and `record`. Errors: `invalid_message`, `invalid_key`,
 * `unknown_prekey`, `no_session` and those of the ratchet.
 * @param {Account} account
 * @param {PeerRecord} record
 * @param {string} wireText
 * @param {import("./ratchet.js").RatchetOptions} [options]
 * @returns {Promise<Decrypted>}
 */
export async function decryptFrom(account, record, wireText, options = {}) {
  const message = parseWire(wireText);
  const x = message.x3dh;
  if (x !== null) {
    const index = record.sessions.findIndex((s) => constantTimeEqual(s.base.ik, x.ik) && constantTimeEqual(s.base.ek, x.ek));
    if (index >= 0) return decryptExisting(account, record, index, message, options);
    return decryptNew(account, record, x, message, options);
  }
  let firstError = null;
  for (let index = 0; index < record.sessions.length; index++) {
    try {
      return await decryptExisting(account, record, index, message, options);
    } catch (error) {
      firstError ??= error;
    }
  }
  throw firstError ?? new Wac1Error("no_session", "no session with this peer");
}

/** The peer's fingerprint as the record knows it, or null. */
export async function peerFingerprint(/** @type {PeerRecord} */ record) {
  return record.peer === null ? null : fingerprint(record.peer.identityKey, record.peer.signingKey);
}

/** Whether the active session still sends the X3DH fields (no reply decrypted yet). */
export function awaitingReply(/** @type {PeerRecord} */ record) {
  return record.sessions.length > 0 && record.sessions[0].pendingX3dh !== null;
}
