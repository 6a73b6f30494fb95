// Images and files (PROTOCOL.md §5, §8): up to 64 KiB they ride inline in the message;
// larger ones are sealed with a fresh key, uploaded as ciphertext, and the message carries
// the key. Received media is opened in the page (digest and every chunk checked first) and
// shown or offered for saving from a `blob:` URL.

import { fromBase64, openAttachment, sealAttachment, toBase64 } from "../wac1/index.js";

/** @typedef {import("./store.js").Payload} Payload */

const INLINE_LIMIT = 64 * 1024;
const IMAGE_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp"];

/**
 * The §5 payload for a file the user picked.
 * @param {File} file
 * @param {import("./api.js").Api} api
 */
export async function payloadOf(file, api) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const mime = file.type || "application/octet-stream";
  const type = IMAGE_TYPES.includes(mime) ? "image" : "file";
  /** @type {Record<string, unknown>} */
  const payload = { type, mime, filename: file.name };
  if (bytes.length <= INLINE_LIMIT) {
    payload.data = toBase64(bytes);
  } else {
    const sealed = await sealAttachment(bytes);
    const uploaded = await api.upload(sealed.blob);
    payload.attachment = { id: uploaded.id, key: toBase64(sealed.key), digest: toBase64(sealed.digest), size: sealed.size };
  }
  return payload;
}

/**
 * The payload's `attachment` member when it is an object, else null.
 * @param {Payload} payload
 * @returns {Record<string, unknown> | null}
 */
function attachmentOf(payload) {
  const a = payload.attachment;
  return typeof a === "object" && a !== null ? /** @type {Record<string, unknown>} */ (a) : null;
}

/** The plaintext bytes of a media payload (downloaded and opened for an attachment). */
export async function mediaBytes(/** @type {Payload} */ payload, /** @type {import("./api.js").Api} */ api) {
  if (typeof payload.data === "string") return fromBase64(payload.data, "data");
  const a = attachmentOf(payload);
  if (a === null) throw new Error("the message carries neither data nor an attachment");
  const blob = await api.download(String(a.id));
  return openAttachment(blob, { key: fromBase64(a.key, "key"), digest: fromBase64(a.digest, "digest"), size: Number(a.size) });
}

function describe(/** @type {Payload} */ payload) {
  const name = typeof payload.filename === "string" ? payload.filename : payload.type;
  const size = typeof payload.data === "string" ? Math.floor((payload.data.length * 3) / 4) : Number(attachmentOf(payload)?.size ?? 0);
  return `${name} (${size < 1024 ? `${size} B` : `${(size / 1024).toFixed(1)} KiB`})`;
}

/**
 * Fills `container` with a media payload: images are shown, other files get a button that
 * saves them. Failures (a corrupt or expired attachment) are shown in place.
 * @param {HTMLElement} container
 * @param {Payload} payload
 * @param {import("./api.js").Api} api
 */
export function renderMedia(container, payload, api) {
  const label = document.createElement("span");
  label.className = "text";
  label.textContent = describe(payload);
  const mime = typeof payload.mime === "string" ? payload.mime : "";
  const isImage = payload.type === "image" && IMAGE_TYPES.includes(mime);
  const fail = (/** @type {unknown} */ error) => {
    label.textContent = `${describe(payload)}: cannot be opened (${error instanceof Error ? error.message : error})`;
  };
  if (isImage) {
    const img = document.createElement("img");
    img.alt = typeof payload.caption === "string" ? payload.caption : describe(payload);
    container.append(img);
    mediaBytes(payload, api).then((bytes) => {
      img.src = URL.createObjectURL(new Blob([bytes], { type: mime }));
    }, fail);
  } else {
    const save = document.createElement("button");
    save.type = "button";
    save.className = "secondary";
    save.textContent = `Save ${typeof payload.filename === "string" ? payload.filename : "file"}`;
    save.addEventListener("click", async () => {
      try {
        const bytes = await mediaBytes(payload, api);
        const link = document.createElement("a");
        link.href = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
        link.download = typeof payload.filename === "string" ? payload.filename : "file";
        link.click();
        setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
      } catch (error) {
        fail(error);
      }
    });
    container.append(save);
  }
  container.append(label);
  if (typeof payload.caption === "string" && payload.caption !== "") {
    const caption = document.createElement("span");
    caption.className = "text caption";
    caption.textContent = payload.caption;
    container.append(document.createElement("br"), caption);
  }
}
