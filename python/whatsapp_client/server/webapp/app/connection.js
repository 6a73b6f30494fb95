// The WebSocket (PROTOCOL.md §7): authenticates, hands every frame to `onFrame`, and
// reconnects after a dropped connection with growing pauses. Nothing is lost across a drop:
// the server resends every message not yet acknowledged, and the outbox resends every
// message whose `sent` never came (the server makes a resent id idempotent).

/** A frame from the server (§7): a JSON object, each member checked where it is used. */
/** @typedef {Record<string, unknown>} Frame */

const DELAYS_MS = [250, 500, 1000, 2000, 4000];
const PING_MS = 25_000;

export class Connection {
  /**
   * @param {string} token
   * @param {{onFrame: (frame: Frame) => void, onReady: () => void, onState: (state: string) => void,
   *   onRejected: () => void}} handlers
   */
  constructor(token, handlers) {
    this.token = token;
    this.handlers = handlers;
    /** @type {WebSocket | null} */
    this.socket = null;
    this.ready = false;
    this.closed = false;
    this.attempt = 0;
    /** @type {number | undefined} */
    this.timer = undefined;
    /** @type {number | undefined} */
    this.pinger = undefined;
  }

  open() {
    if (this.closed) return;
    const url = new URL("/ws", location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url);
    this.socket = socket;
    this.handlers.onState("connecting");
    socket.onopen = () => socket.send(JSON.stringify({ type: "auth", token: this.token }));
    socket.onmessage = (event) => {
      /** @type {unknown} */
      let parsed;
      try {
        parsed = JSON.parse(String(event.data));
      } catch {
        return; // not a frame of §7
      }
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return; // nor is this
      const frame = /** @type {Frame} */ (parsed);
      if (frame.type === "auth_ok") {
        this.ready = true;
        this.attempt = 0;
        this.handlers.onState("online");
        this.pinger = window.setInterval(() => this.send({ type: "ping" }), PING_MS);
        this.handlers.onReady();
      } else if (frame.type === "error" && frame.code === "unauthorized") {
        this.closed = true;
        this.handlers.onRejected();
      } else {
        this.handlers.onFrame(frame);
      }
    };
    socket.onclose = () => this.dropped(socket);
    socket.onerror = () => socket.close();
  }

  /** @param {WebSocket} socket */
  dropped(socket) {
    if (socket !== this.socket) return;
    this.ready = false;
    window.clearInterval(this.pinger);
    if (this.closed) return;
    this.handlers.onState("offline");
    const delay = DELAYS_MS[Math.min(this.attempt, DELAYS_MS.length - 1)];
    this.attempt++;
    this.timer = window.setTimeout(() => this.open(), delay * (0.75 + Math.random() / 2));
  }

  /** Sends a frame when connected; false when it must wait for the next connection. */
  send(/** @type {unknown} */ frame) {
    if (!this.ready || this.socket === null || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  close() {
    this.closed = true;
    window.clearTimeout(this.timer);
    window.clearInterval(this.pinger);
    this.socket?.close(1000);
  }
}
