// wac1.js: WAC1 (PROTOCOL.md) on the browser's WebCrypto. Import this module; the others
// are its parts, one concept each.

export { Wac1Error, constantTimeEqual, fromBase64, toBase64, toHex, utf8 } from "./encoding.js";
export { ed25519PublicKey, ed25519Sign, ed25519Verify, hkdf, hmacSha256, randomBytes, sha256, sha512, x25519, x25519KeyPair, x25519PublicKey } from "./primitives.js";
export { headerBytes, kdfCk, kdfRk, messageKeys, openMessage, sealMessage } from "./kdf.js";
export {
  addOneTimePrekeys, bundleOf, compareFingerprints, createAccount, createIdentity, createSignedPrekey, dropSignedPrekeysBefore,
  fingerprint, fingerprintQrPayload, keysPayload, parseBundle, rotateSignedPrekey, safetyNumber, signedPrekeyMessage, verifySignedPrekey,
} from "./keys.js";
export { initiate, respond } from "./x3dh.js";
export { MAX_SKIP, MAX_SKIPPED_KEYS, canSend, cloneState, describeState, initiatorState, ratchetDecrypt, ratchetEncrypt, responderState } from "./ratchet.js";
export { PREFIX, encodeWire, parseWire } from "./wire.js";
export { MAX_OLD_SESSIONS, awaitingReply, canEncrypt, decryptFrom, emptyRecord, encryptTo, peerFingerprint, startSession } from "./peer.js";
export { CHUNK_SIZE, blobSize, openAttachment, sealAttachment } from "./attachment.js";
export { deserialize, serialize } from "./state.js";
