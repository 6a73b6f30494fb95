// The reference server's REST API (PROTOCOL.md §6, §8) on the page's own origin.

/** An error answer of the server, or a network failure (`status` 0, code `network`). */
export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class Api {
  /** @param {string | null} token */
  constructor(token = null) {
    this.token = token;
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {{json?: unknown, body?: BodyInit, headers?: Record<string, string>}} options (all optional)
   * @returns {Promise<Response>}
   */
  async raw(method, path, { json, body, headers = {} } = {}) {
    const all = { ...headers };
    if (this.token !== null) all.Authorization = `Bearer ${this.token}`;
    if (json !== undefined) {
      all["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    }
    let response;
    try {
      response = await fetch(path, { method, headers: all, body, cache: "no-store" });
    } catch (error) {
      throw new ApiError(0, "network", `the server cannot be reached (${error})`);
    }
    if (!response.ok) {
      let code = "http_error";
      let message = `${response.status} ${response.statusText}`;
      try {
        const answer = await response.json();
        code = answer.error.code;
        message = answer.error.message;
      } catch {
        // not the §6 error shape: keep the HTTP status
      }
      throw new ApiError(response.status, code, message);
    }
    return response;
  }

  /** The JSON answer, or null for 204. */
  async call(/** @type {string} */ method, /** @type {string} */ path, /** @type {unknown} */ json = undefined) {
    const response = await this.raw(method, path, { json });
    return response.status === 204 ? null : response.json();
  }

  /** Uploads an encrypted blob: `{id, size, expires_at}`. */
  async upload(/** @type {Uint8Array} */ blob) {
    const response = await this.raw("POST", "/api/attachments", { body: blob, headers: { "Content-Type": "application/octet-stream" } });
    return response.json();
  }

  /** Downloads a blob's bytes. */
  async download(/** @type {string} */ id) {
    const response = await this.raw("GET", `/api/attachments/${encodeURIComponent(id)}`);
    return new Uint8Array(await response.arrayBuffer());
  }
}
