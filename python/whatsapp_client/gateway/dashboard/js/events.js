// Live updates: the gateway's server-sent events (/api/v1/events/stream, the cookie
// authenticates it). On an error the stream is closed and reopened after a pause; while
// it is down the session list is polled every 2 s so that a status change still shows.

import { api } from "./api.js";

const STREAM = "/api/v1/events/stream";
const POLL_MS = 2000;
const RETRY_MS = 5000;
const KINDS = ["session", "message", "log", "counters"];

export class LiveFeed {
  constructor() {
    this.listeners = new Map();
    this.source = null;
    this.pollTimer = null;
    this.retryTimer = null;
    this.running = false;
    this.live = false;
  }

  // kind: "session" | "message" | "log" | "counters" | "sessions" (a polled list).
  on(kind, callback) {
    if (!this.listeners.has(kind)) this.listeners.set(kind, new Set());
    this.listeners.get(kind).add(callback);
    return () => this.listeners.get(kind).delete(callback);
  }

  emit(kind, data) {
    for (const callback of this.listeners.get(kind) || []) {
      try {
        callback(data);
      } catch (err) {
        console.error(err);
      }
    }
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  stop() {
    this.running = false;
    this.live = false;
    if (this.source) this.source.close();
    this.source = null;
    window.clearTimeout(this.retryTimer);
    this.stopPolling();
  }

  connect() {
    if (!this.running || typeof EventSource === "undefined") {
      this.startPolling();
      return;
    }
    const source = new EventSource(STREAM, { withCredentials: true });
    this.source = source;
    source.addEventListener("open", () => {
      this.live = true;
      this.stopPolling();
      this.poll(); // catch up on what changed while the stream was down
    });
    for (const kind of KINDS) {
      source.addEventListener(kind, (event) => {
        let data;
        try {
          data = JSON.parse(event.data);
        } catch (err) {
          return;
        }
        this.emit(kind, data);
      });
    }
    source.addEventListener("error", () => {
      // Closed here rather than left to the browser's own retry, so that polling covers
      // the gap and a 401/404 stream does not retry in a tight loop.
      source.close();
      if (this.source === source) this.source = null;
      this.live = false;
      this.startPolling();
      window.clearTimeout(this.retryTimer);
      this.retryTimer = window.setTimeout(() => this.connect(), RETRY_MS);
    });
  }

  startPolling() {
    if (this.pollTimer !== null || !this.running) return;
    this.pollTimer = window.setInterval(() => this.poll(), POLL_MS);
    this.poll();
  }

  stopPolling() {
    window.clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  async poll() {
    try {
      const data = await api.get("/sessions");
      this.emit("sessions", data.sessions || []);
    } catch (err) {
      if (err.status === 401) this.stop();
    }
  }
}

export const feed = new LiveFeed();
