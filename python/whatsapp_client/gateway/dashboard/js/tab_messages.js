// Messages: the session's message log, newest first, filtered by Direction, Status and
// Peer (by the API) and Search (the text of the page shown), paged with Previous / Next.
// The first page follows the live message events.

import { api } from "./api.js";
import { alertBox, clear, field, formatTime, h, select, statusBadge } from "./dom.js";

const PAGE = 25;
const STATES = ["queued", "sent", "delivered", "read", "failed", "received"];

function row(message) {
  const content = message.text ?? message.caption ?? "";
  const media = message.media
    ? h("a", { href: message.media.url, download: message.media.filename || "" }, message.media.filename || message.type)
    : null;
  return h("tr", { dataset: { messageId: message.id } },
    h("td", { "data-label": "Time" }, formatTime(message.timestamp)),
    h("td", { "data-label": "Direction" }, message.direction),
    h("td", { "data-label": "Peer" }, message.peer_name ? message.peer_name + " (" + message.peer + ")" : message.peer),
    h("td", { "data-label": "Message", class: "text" }, media, media && content ? " " : "", content),
    h("td", { "data-label": "Status" }, statusBadge(message.status, "msg-status"),
      message.reason ? h("small", { class: "muted" }, " " + message.reason) : null));
}

export function mount(panel, session, ctx) {
  const direction = select("direction", [["", "Any"], "inbound", "outbound"], "");
  const status = select("status", [["", "Any"], ...STATES], "");
  const peer = h("input", { type: "text", name: "peer", maxlength: 256, autocomplete: "off" });
  const search = h("input", { type: "search", name: "search", autocomplete: "off" });
  const filters = h("form", { class: "filters", "aria-label": "Message filters" },
    field("Direction", direction), field("Status", status), field("Peer", peer), field("Search", search),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Filter")));
  const error = alertBox();
  const body = h("tbody");
  const count = h("p", { class: "muted", role: "status" });
  const previous = h("button", { type: "button" }, "Previous");
  const next = h("button", { type: "button" }, "Next");
  panel.append(h("h2", { class: "visually-hidden" }, "Messages"), filters, error,
    h("div", { class: "table-wrap" }, h("table", { class: "messages" },
      h("caption", { class: "visually-hidden" }, "Message log"),
      h("thead", {}, h("tr", {}, ...["Time", "Direction", "Peer", "Message", "Status"].map((c) => h("th", { scope: "col" }, c)))),
      body)),
    count, h("nav", { class: "actions pager", "aria-label": "Pages" }, previous, next));

  // cursors[i]: the cursor of page i (page 0 has none).
  let cursors = [null];
  let page = 0;
  let nextCursor = null;
  let items = [];

  const show = () => {
    const needle = search.value.trim().toLowerCase();
    const shown = needle
      ? items.filter((m) => [m.text, m.caption, m.peer, m.peer_name, m.id].some((v) => v && v.toLowerCase().includes(needle)))
      : items;
    clear(body, shown.map(row));
    count.textContent = shown.length
      ? "Page " + (page + 1) + ": " + shown.length + " message" + (shown.length === 1 ? "" : "s")
      : "No message matches.";
    previous.disabled = page === 0;
    next.disabled = !nextCursor;
  };

  const load = async () => {
    try {
      const data = await api.get("/sessions/" + encodeURIComponent(session.id) + "/messages", {
        direction: direction.value, status: status.value, peer: peer.value.trim(),
        limit: PAGE, cursor: cursors[page],
      });
      items = data.messages || [];
      nextCursor = data.next_cursor;
      error.show("");
      show();
    } catch (err) {
      error.show(err.message);
    }
  };

  const restart = () => { cursors = [null]; page = 0; load(); };
  filters.addEventListener("submit", (event) => { event.preventDefault(); restart(); });
  direction.addEventListener("change", restart);
  status.addEventListener("change", restart);
  search.addEventListener("input", show);
  previous.addEventListener("click", () => { if (page > 0) { page -= 1; load(); } });
  next.addEventListener("click", () => {
    if (!nextCursor) return;
    cursors[page + 1] = nextCursor;
    page += 1;
    load();
  });

  let pending = null;
  const off = ctx.feed.on("message", (event) => {
    if (event.session_id !== session.id || page !== 0 || pending !== null) return;
    pending = window.setTimeout(() => { pending = null; load(); }, 300);
  });
  // Without the stream, the first page still follows (polling is cheap at this size).
  const timer = window.setInterval(() => { if (page === 0 && !ctx.feed.live) load(); }, 5000);
  load();
  return () => { off(); window.clearInterval(timer); window.clearTimeout(pending); };
}
