// The Double Ratchet (PROTOCOL.md §4: Signal's specification, revision 1, without header
// encryption). Every function takes a state and returns a new one; the state given is never
// modified, so a failed decrypt leaves the caller's state exactly as it was
// (transactional: work on a copy, the caller commits the returned state on success).

import { Wac1Error, concat, constantTimeEqual, isU32, toBase64 } from "./encoding.js";
import { x25519, x25519KeyPair } from "./primitives.js";
import { headerBytes, kdfCk, kdfRk, openMessage, sealMessage } from "./kdf.js";

/** Most message keys one header may skip in one chain. */
export const MAX_SKIP = 1000;
/** Most skipped message keys a session stores; the oldest is dropped beyond. */
export const MAX_SKIPPED_KEYS = 1000;

/** @typedef {import("./primitives.js").KeyPair} KeyPair */
/** @typedef {import("./kdf.js").Header} Header */
/** @typedef {{dh: string, n: number, messageKey: Uint8Array}} SkippedKey */
/**
 * @typedef {{rootKey: Uint8Array, sendingChainKey: Uint8Array | null,
 *   receivingChainKey: Uint8Array | null, sendingRatchet: KeyPair,
 *   remoteRatchetPublic: Uint8Array | null, ns: number, nr: number, pn: number,
 *   skipped: SkippedKey[]}} RatchetState
 */
/** @typedef {{nextRatchetKey?: () => Promise<KeyPair>}} RatchetOptions */

/**
 * A deep copy: what a step works on.
 * @param {RatchetState} state
 * @returns {RatchetState}
 */
export function cloneState(state) {
  return {
    rootKey: state.rootKey.slice(),
    sendingChainKey: state.sendingChainKey?.slice() ?? null,
    receivingChainKey: state.receivingChainKey?.slice() ?? null,
    sendingRatchet: { privateKey: state.sendingRatchet.privateKey.slice(), publicKey: state.sendingRatchet.publicKey.slice() },
    remoteRatchetPublic: state.remoteRatchetPublic?.slice() ?? null,
    ns: state.ns,
    nr: state.nr,
    pn: state.pn,
    skipped: state.skipped.map((k) => ({ dh: k.dh, n: k.n, messageKey: k.messageKey.slice() })),
  };
}

/**
 * The initiator's state: its first sending ratchet key, the responder's SPK as remote key.
 * @param {Uint8Array} sharedSecret
 * @param {Uint8Array} remoteSignedPrekey
 * @param {KeyPair} [ratchetKey] fresh unless given (test vectors fix it)
 * @returns {Promise<RatchetState>}
 */
export async function initiatorState(sharedSecret, remoteSignedPrekey, ratchetKey) {
  const sendingRatchet = ratchetKey ?? (await x25519KeyPair());
  const next = await kdfRk(sharedSecret, await x25519(sendingRatchet.privateKey, remoteSignedPrekey));
  return {
    rootKey: next.rootKey,
    sendingChainKey: next.chainKey,
    receivingChainKey: null,
    sendingRatchet,
    remoteRatchetPublic: remoteSignedPrekey.slice(),
    ns: 0,
    nr: 0,
    pn: 0,
    skipped: [],
  };
}

/**
 * The responder's state: its SPK pair is the first sending ratchet key, no chains yet.
 * @param {Uint8Array} sharedSecret
 * @param {KeyPair} signedPrekey
 * @returns {RatchetState}
 */
export function responderState(sharedSecret, signedPrekey) {
  return {
    rootKey: sharedSecret.slice(),
    sendingChainKey: null,
    receivingChainKey: null,
    sendingRatchet: { privateKey: signedPrekey.privateKey.slice(), publicKey: signedPrekey.publicKey.slice() },
    remoteRatchetPublic: null,
    ns: 0,
    nr: 0,
    pn: 0,
    skipped: [],
  };
}

/** Whether the state has a sending chain (a responder has none before the first message). */
export function canSend(/** @type {RatchetState} */ state) {
  return state.sendingChainKey !== null;
}

/**
 * Encrypts one message: `{state, header, ciphertext}`. Persist the returned state before
 * the ciphertext leaves the process (write-ahead), so a message key is never used twice.
 * @param {RatchetState} state
 * @param {Uint8Array} plaintext
 * @param {Uint8Array} associatedData the X3DH AD (64 bytes)
 */
export async function ratchetEncrypt(state, plaintext, associatedData) {
  if (state.sendingChainKey === null) throw new Wac1Error("no_session", "no sending chain yet: wait for the peer's first message");
  if (!isU32(state.ns)) throw new Wac1Error("invalid_message", "sending chain exhausted");
  const s = cloneState(state);
  const step = await kdfCk(/** @type {Uint8Array} */ (s.sendingChainKey));
  /** @type {Header} */
  const header = { dh: s.sendingRatchet.publicKey.slice(), pn: s.pn, n: s.ns };
  s.sendingChainKey = step.chainKey;
  s.ns += 1;
  const ciphertext = await sealMessage(step.messageKey, plaintext, concat(associatedData, headerBytes(header)));
  return { state: s, header, ciphertext };
}

function storeSkipped(/** @type {RatchetState} */ s, /** @type {SkippedKey} */ key) {
  s.skipped.push(key);
  if (s.skipped.length > MAX_SKIPPED_KEYS) s.skipped.splice(0, s.skipped.length - MAX_SKIPPED_KEYS);
}

async function skipMessageKeys(/** @type {RatchetState} */ s, /** @type {number} */ until) {
  if (s.nr + MAX_SKIP < until) {
    throw new Wac1Error("too_many_skipped", `the message would skip ${until - s.nr} keys, more than ${MAX_SKIP}`);
  }
  if (s.receivingChainKey === null || s.remoteRatchetPublic === null) return;
  const dh = toBase64(s.remoteRatchetPublic);
  // A local keeps the chain key's non-null type across the loop's awaits.
  let chainKey = s.receivingChainKey;
  while (s.nr < until) {
    const step = await kdfCk(chainKey);
    storeSkipped(s, { dh, n: s.nr, messageKey: step.messageKey });
    chainKey = step.chainKey;
    s.receivingChainKey = chainKey;
    s.nr += 1;
  }
}

async function dhRatchet(/** @type {RatchetState} */ s, /** @type {Header} */ header, /** @type {RatchetOptions} */ options) {
  s.pn = s.ns;
  s.ns = 0;
  s.nr = 0;
  s.remoteRatchetPublic = header.dh.slice();
  const receiving = await kdfRk(s.rootKey, await x25519(s.sendingRatchet.privateKey, header.dh));
  s.receivingChainKey = receiving.chainKey;
  s.sendingRatchet = options.nextRatchetKey ? await options.nextRatchetKey() : await x25519KeyPair();
  const sending = await kdfRk(receiving.rootKey, await x25519(s.sendingRatchet.privateKey, header.dh));
  s.rootKey = sending.rootKey;
  s.sendingChainKey = sending.chainKey;
}

/**
 * Decrypts one message: `{state, plaintext}`. Throws `duplicate_or_unknown_key`,
 * `too_many_skipped`, `decryption_failed` or `invalid_key`; the state given never changes.
 * @param {RatchetState} state
 * @param {Header} header
 * @param {Uint8Array} ciphertext
 * @param {Uint8Array} associatedData the X3DH AD (64 bytes)
 * @param {RatchetOptions} [options] `nextRatchetKey` fixes the new ratchet key (test vectors)
 */
export async function ratchetDecrypt(state, header, ciphertext, associatedData, options = {}) {
  const ad = concat(associatedData, headerBytes(header));
  const s = cloneState(state);
  const dh = toBase64(header.dh);
  const index = s.skipped.findIndex((k) => k.n === header.n && k.dh === dh);
  if (index >= 0) {
    const plaintext = await openMessage(s.skipped[index].messageKey, ciphertext, ad);
    s.skipped.splice(index, 1);
    return { state: s, plaintext };
  }
  const sameChain = s.remoteRatchetPublic !== null && constantTimeEqual(header.dh, s.remoteRatchetPublic);
  if (sameChain && header.n < s.nr) {
    throw new Wac1Error("duplicate_or_unknown_key", "message key already used or dropped (replay?)");
  }
  if (!sameChain) {
    await skipMessageKeys(s, header.pn);
    await dhRatchet(s, header, options);
  }
  await skipMessageKeys(s, header.n);
  const step = await kdfCk(/** @type {Uint8Array} */ (s.receivingChainKey));
  s.receivingChainKey = step.chainKey;
  s.nr += 1;
  const plaintext = await openMessage(step.messageKey, ciphertext, ad);
  return { state: s, plaintext };
}

/**
 * The state's public summary, in the vectors' `state_after` shape (base64 keys).
 * @param {RatchetState} state
 */
export function describeState(state) {
  const b64 = (/** @type {Uint8Array | null} */ v) => (v === null ? null : toBase64(v));
  return {
    root_key: b64(state.rootKey),
    sending_chain_key: b64(state.sendingChainKey),
    receiving_chain_key: b64(state.receivingChainKey),
    sending_ratchet_public: b64(state.sendingRatchet.publicKey),
    remote_ratchet_public: b64(state.remoteRatchetPublic),
    ns: state.ns,
    nr: state.nr,
    pn: state.pn,
    skipped_count: state.skipped.length,
  };
}
