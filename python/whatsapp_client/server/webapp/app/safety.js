// The safety number of a conversation: 60 digits both sides compute from their two
// fingerprints, and a QR code of this side's fingerprint drawn here in the page (a picture
// sent by the server could show anything). "Mark as verified" records the peer's
// fingerprint; a later identity change clears it.

import { fingerprintQrPayload, utf8 } from "../wac1/index.js";
import { encodeQr, qrSvg } from "./qr.js";

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const QR_SCALE = 4;

/** `12345 67890 …`: the 60 digits in groups of five. */
export function groupDigits(/** @type {string} */ digits) {
  return (digits.match(/.{1,5}/g) ?? []).join(" ");
}

export class SafetyView {
  /** @param {import("./messenger.js").Messenger} messenger */
  constructor(messenger) {
    this.messenger = messenger;
    /** @type {string | null} */
    this.peerId = null;
    const dialog = /** @type {HTMLDialogElement} */ ($("safety-dialog"));
    $("safety-close").addEventListener("click", () => dialog.close());
    $("verify-button").addEventListener("click", async () => {
      if (this.peerId === null) return;
      try {
        await this.messenger.markVerified(this.peerId);
        await this.show(this.peerId);
      } catch (error) {
        $("verified-state").textContent = `Not saved: ${error instanceof Error ? error.message : error}`;
      }
    });
  }

  async show(/** @type {string} */ peerId) {
    this.peerId = peerId;
    const dialog = /** @type {HTMLDialogElement} */ ($("safety-dialog"));
    // Nothing of an earlier opening (maybe another peer's) stays while this one is computed.
    for (const id of ["safety-number", "my-fingerprint", "their-fingerprint", "verified-state"]) $(id).textContent = "";
    $("safety-qr").replaceChildren();
    const contact = await this.messenger.store.contact(peerId);
    const safety = await this.messenger.safety(peerId);
    const mine = await this.messenger.ownFingerprint();
    $("my-fingerprint").textContent = mine;
    const payload = fingerprintQrPayload(this.messenger.user.id, mine);
    $("safety-qr").replaceChildren(qrSvg(encodeQr(utf8(payload)), QR_SCALE, `QR code of your fingerprint: ${payload}`));
    $("their-fingerprint-label").textContent = contact ? `${contact.name}'s fingerprint` : "Their fingerprint";
    const verify = /** @type {HTMLButtonElement} */ ($("verify-button"));
    if (safety === null) {
      $("safety-number").textContent = "No session yet: send or receive a message first.";
      $("their-fingerprint").textContent = "unknown";
      $("verified-state").textContent = "";
      verify.disabled = true;
    } else {
      $("safety-number").textContent = groupDigits(safety.safetyNumber);
      $("their-fingerprint").textContent = safety.theirs;
      const verified = contact?.verified === safety.theirs;
      $("verified-state").textContent = verified ? "✔ Verified" : "Not verified";
      verify.disabled = verified;
    }
    if (!dialog.open) dialog.showModal();
  }
}
