// The reference server's REST API (PROTOCOL.md §6, §8) on the page's own origin. `call`
// answers `unknown`; each caller names the answer's type below, the shape §6 gives it (a
// prekey bundle, which keys are made from, is checked member by member by parseBundle).

/**
 * @typedef {{id: string, username: string}} User
 * @typedef {{token: string, user: User}} AuthAnswer `POST /api/auth/login` and `register`
 * @typedef {{id: string, name: string, members?: {user_id: string, username: string}[]}} Group
 * @typedef {{available: number, signed_prekey_id: number}} KeyStatus `GET /api/keys/status`
 * @typedef {{id: string, size: number, expires_at: number}} Upload `POST /api/attachments`
 */

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
        // Any JSON value is safe below: each step is optional and the members are checked.
        const answer = /** @type {{error?: {code?: unknown, message?: unknown}} | null} */ (await response.json());
        if (typeof answer?.error?.code === "string") code = answer.error.code;
        if (typeof answer?.error?.message === "string") message = answer.error.message;
      } catch {
        // not the §6 error shape: keep the HTTP status
      }
      throw new ApiError(response.status, code, message);
    }
    return response;
  }

  /**
   * The JSON answer, or null for 204.
   * @param {string} method
   * @param {string} path
   * @param {unknown} [json]
   * @returns {Promise<unknown>}
   */
  async call(method, path, json = undefined) {
    const response = await this.raw(method, path, { json });
    return response.status === 204 ? null : response.json();
  }

  /**
   * Uploads an encrypted blob.
   * @param {Uint8Array} blob
   * @returns {Promise<Upload>}
   */
  async upload(blob) {
    const response = await this.raw("POST", "/api/attachments", { body: blob, headers: { "Content-Type": "application/octet-stream" } });
    return /** @type {Promise<Upload>} */ (response.json());
  }

  /** Downloads a blob's bytes. */
  async download(/** @type {string} */ id) {
    const response = await this.raw("GET", `/api/attachments/${encodeURIComponent(id)}`);
    return new Uint8Array(await response.arrayBuffer());
  }
}
