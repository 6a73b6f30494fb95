// The JSON API client: same-origin fetches with the browser session cookie, the CSRF
// header on unsafe methods, and errors as ApiError with the API's code and message.

const BASE = "/api/v1";
const SAFE = new Set(["GET", "HEAD"]);

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

function url(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return BASE + path + (text ? "?" + text : "");
}

// Tells the app that the browser session is gone (401) or needs a new password.
function signal(error) {
  if (error.status === 401) {
    window.dispatchEvent(new CustomEvent("wag:unauthorized"));
  } else if (error.code === "password_change_required") {
    window.dispatchEvent(new CustomEvent("wag:password-required"));
  }
}

export async function request(method, path, { json, form, query, quiet } = {}) {
  const headers = { Accept: "application/json" };
  if (!SAFE.has(method)) {
    const token = cookie("wag_csrf");
    if (token) headers["X-CSRF-Token"] = token;
  }
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form; // multipart: the browser sets the boundary
  }
  let response;
  try {
    response = await fetch(url(path, query), {
      method, headers, body, credentials: "same-origin", cache: "no-store",
    });
  } catch (err) {
    throw new ApiError(0, "network_error", "The gateway cannot be reached.");
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = null;
  }
  if (!response.ok) {
    const detail = data && data.error ? data.error : {};
    const error = new ApiError(
      response.status,
      detail.code || "http_" + response.status,
      detail.message || response.statusText || "Request failed",
    );
    if (!quiet) signal(error);
    throw error;
  }
  return data;
}

export const api = {
  get: (path, query, options = {}) => request("GET", path, { ...options, query }),
  post: (path, json, options = {}) => request("POST", path, { ...options, json }),
  patch: (path, json) => request("PATCH", path, { json }),
  del: (path) => request("DELETE", path),
  upload: (path, form) => request("POST", path, { form }),
};
