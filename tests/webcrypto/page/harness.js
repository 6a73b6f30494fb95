// The test page's bridge: pytest calls these through Playwright with base64 strings and
// gets base64 strings back, so every byte is compared in Python. Accounts and peer
// records live in `parties`, committed only when a call succeeds, as an app would.

import * as w from "/wac1/index.js";

const b = (/** @type {string} */ text) => w.fromBase64(text);
const b64 = (/** @type {Uint8Array} */ bytes) => w.toBase64(bytes);
/** @type {Map<string, {account: any, records: Map<string, any>}>} */
const parties = new Map();

async function outcome(/** @type {() => Promise<any>} */ fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    if (error instanceof w.Wac1Error) return { ok: false, code: error.code, message: error.message };
    throw error;
  }
}

function party(/** @type {string} */ name) {
  const found = parties.get(name);
  if (found === undefined) throw new Error(`no party ${name}`);
  return found;
}

function record(/** @type {string} */ name, /** @type {string} */ peer) {
  return party(name).records.get(peer) ?? w.emptyRecord();
}

function fixedKey(/** @type {string | null} */ privateB64) {
  return privateB64 === null ? {} : { nextRatchetKey: () => w.x25519KeyPair(b(privateB64)) };
}

export const harness = {
  publicKey: async (priv) => b64(await w.x25519PublicKey(b(priv))),
  x25519: (priv, pub) => outcome(async () => b64(await w.x25519(b(priv), b(pub)))),
  kdfRk: async (rk, dh) => { const o = await w.kdfRk(b(rk), b(dh)); return [b64(o.rootKey), b64(o.chainKey)]; },
  kdfCk: async (ck) => { const o = await w.kdfCk(b(ck)); return [b64(o.messageKey), b64(o.chainKey)]; },
  messageKeys: async (mk) => { const o = await w.messageKeys(b(mk)); return [b64(o.aesKey), b64(o.nonce)]; },
  headerBytes: (dh, pn, n) => b64(w.headerBytes({ dh: b(dh), pn, n })),
  seal: async (mk, pt, ad) => b64(await w.sealMessage(b(mk), b(pt), b(ad))),
  open: (mk, ct, ad) => outcome(async () => b64(await w.openMessage(b(mk), b(ct), b(ad)))),
  signPrekey: async (seed, keyId, pub) => {
    const id = await w.createIdentity(undefined, b(seed));
    return [b64(id.signing.publicKey), b64(await w.ed25519Sign(b(seed), w.signedPrekeyMessage(keyId, b(pub))))];
  },
  verifyPrekey: (sk, keyId, pub, sig) => w.verifySignedPrekey(b(sk), keyId, b(pub), b(sig)),
  fingerprint: (ik, sk) => w.fingerprint(b(ik), b(sk)),
  safetyNumber: (a, c) => w.safetyNumber(a, c),
  compareFingerprints: (a, c) => w.compareFingerprints(a, c),

  x3dhInitiate: (identityPriv, ephemeralPriv, bundleJson) => outcome(async () => {
    const identity = await w.createIdentity(b(identityPriv));
    const out = await w.initiate(identity, w.parseBundle(bundleJson), await w.x25519KeyPair(b(ephemeralPriv)));
    return { ik: b64(identity.dh.publicKey), ek: b64(out.ephemeralPublic), secret: b64(out.sharedSecret), ad: b64(out.associatedData) };
  }),
  x3dhRespond: (identityPriv, spkPriv, opkPriv, ik, ek) => outcome(async () => {
    const identity = await w.createIdentity(b(identityPriv));
    const opk = opkPriv === null ? null : await w.x25519KeyPair(b(opkPriv));
    const out = await w.respond(identity, await w.x25519KeyPair(b(spkPriv)), opk, b(ik), b(ek));
    return { secret: b64(out.sharedSecret), ad: b64(out.associatedData) };
  }),

  /** A party from fixed private keys (vectors), or a fresh account. */
  addParty: async (name, keys) => {
    let account;
    if (keys === null) {
      account = await w.createAccount({ oneTimeCount: 5 });
    } else {
      const identity = await w.createIdentity(b(keys.identity_private), b(keys.signing_private));
      const signedPrekeys = keys.spk ? [await w.createSignedPrekey(identity, keys.spk.key_id, b(keys.spk.private), 0)] : [];
      const oneTimePrekeys = keys.opk ? [{ keyId: keys.opk.key_id, keyPair: await w.x25519KeyPair(b(keys.opk.private)) }] : [];
      account = { identity, signedPrekeys, oneTimePrekeys, nextSignedPrekeyId: 2, nextOneTimePrekeyId: 100 };
    }
    parties.set(name, { account, records: new Map() });
    return { bundle: account.signedPrekeys.length ? w.bundleOf(account, account.oneTimePrekeys[0]?.keyId ?? null) : null,
      fingerprint: await w.fingerprint(account.identity.dh.publicKey, account.identity.signing.publicKey),
      oneTimePrekeyIds: account.oneTimePrekeys.map((k) => k.keyId) };
  },
  start: (name, peer, bundleJson, ephemeralPriv = null, ratchetPriv = null) => outcome(async () => {
    const fixed = {};
    if (ephemeralPriv !== null) fixed.ephemeral = await w.x25519KeyPair(b(ephemeralPriv));
    if (ratchetPriv !== null) fixed.ratchetKey = await w.x25519KeyPair(b(ratchetPriv));
    const out = await w.startSession(party(name).account, record(name, peer), bundleJson, fixed);
    party(name).records.set(peer, out.record);
    return out.identityChanged;
  }),
  encrypt: (name, peer, pt) => outcome(async () => {
    const out = await w.encryptTo(record(name, peer), b(pt));
    party(name).records.set(peer, out.record);
    return out.wire;
  }),
  /** Decrypts, commits on success; reports whether the call left its inputs untouched. */
  decrypt: (name, peer, wire, nextRatchetPriv = null) => outcome(async () => {
    const p = party(name);
    const before = w.serialize([p.account, record(name, peer)]);
    const input = [p.account, record(name, peer)];
    try {
      const out = await w.decryptFrom(input[0], input[1], wire, fixedKey(nextRatchetPriv));
      p.account = out.account;
      p.records.set(peer, out.record);
      return { plaintext: b64(out.plaintext), newSession: out.newSession, identityChanged: out.identityChanged, usedOneTimePrekey: out.usedOneTimePrekey };
    } finally {
      if (w.serialize(input) !== before) throw new Error("decryptFrom modified its input");
    }
  }),
  /** Everything the party holds, serialised: what must not change on a failed decrypt. */
  snapshot: (name) => w.serialize([party(name).account, [...party(name).records.entries()]]),
  /** The party restored from its own serialised state (as from IndexedDB). */
  reload: (name) => {
    const [account, records] = w.deserialize(harness.snapshot(name));
    parties.set(name, { account, records: new Map(records) });
  },
  describe: (name, peer) => w.describeState(record(name, peer).sessions[0].ratchet),
  sessionInfo: async (name, peer) => {
    const r = record(name, peer);
    return { count: r.sessions.length, awaitingReply: w.awaitingReply(r), canEncrypt: w.canEncrypt(r), peerFingerprint: await w.peerFingerprint(r) };
  },
  keysPayload: (name) => w.keysPayload(party(name).account),
  /** A new current signed prekey: its `PUT /api/keys/signed-prekey` body. */
  rotate: async (name) => {
    const p = party(name);
    p.account = await w.rotateSignedPrekey(p.account);
    const spk = p.account.signedPrekeys[0];
    return { key_id: spk.keyId, public_key: b64(spk.keyPair.publicKey), signature: b64(spk.signature) };
  },
  dropSignedPrekeysBefore: (name, createdBefore) => {
    const p = party(name);
    p.account = w.dropSignedPrekeysBefore(p.account, createdBefore);
    return p.account.signedPrekeys.map((k) => k.keyId);
  },
  oneTimePrekeyIds: (name) => party(name).account.oneTimePrekeys.map((k) => k.keyId),
  parseWire: (wire) => outcome(async () => {
    const m = w.parseWire(wire);
    return { dh: b64(m.header.dh), pn: m.header.pn, n: m.header.n, ciphertext: b64(m.ciphertext), x3dh: m.x3dh === null ? null
      : { ik: b64(m.x3dh.ik), sk: b64(m.x3dh.sk), ek: b64(m.x3dh.ek), spk_id: m.x3dh.spkId, opk_id: m.x3dh.opkId } };
  }),

  /** The vectors' plaintext rule: byte i = (i*31 + 7 + salt) mod 256. */
  rulePlaintext: (size, salt) => Uint8Array.from({ length: size }, (_, i) => (i * 31 + 7 + salt) % 256),
  sealRule: async (key, size, salt) => {
    const out = await w.sealAttachment(harness.rulePlaintext(size, salt), b(key));
    return { blob: b64(out.blob), digest: b64(out.digest), size: out.size, key: b64(out.key) };
  },
  sealRandom: async (size, salt) => {
    const out = await w.sealAttachment(harness.rulePlaintext(size, salt));
    return { blob: b64(out.blob), digest: b64(out.digest), size: out.size, key: b64(out.key) };
  },
  openAttachment: (blob, key, digest, size) => outcome(async () => b64(await w.openAttachment(b(blob), { key: b(key), digest: b(digest), size }))),
  blobSize: (size) => w.blobSize(size),
};
