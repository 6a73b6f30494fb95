// Webhooks: the session's endpoints and their recent deliveries (state, attempts, last
// HTTP status and error), with Redeliver on each failed one.

import { api } from "./api.js";
import { alertBox, announce, clear, formatTime, h, noticeBox, statusBadge } from "./dom.js";

const LIMIT = 50;

// A delivery that gave up (dead), or one still retrying after an error.
function failed(delivery) {
  return delivery.state === "dead" || (delivery.state === "pending" && Boolean(delivery.last_error));
}

export function mount(panel, session, ctx) {
  const base = "/sessions/" + encodeURIComponent(session.id);
  const error = alertBox();
  const notice = noticeBox();
  const endpoints = h("ul", { class: "endpoints" });
  const body = h("tbody");
  const refresh = h("button", { type: "button" }, "Refresh");
  panel.append(
    h("h2", {}, "Endpoints"), endpoints,
    h("div", { class: "title-row" }, h("h2", {}, "Recent deliveries"), refresh),
    error, notice,
    h("div", { class: "table-wrap" }, h("table", { class: "deliveries" },
      h("caption", { class: "visually-hidden" }, "Recent webhook deliveries"),
      h("thead", {}, h("tr", {}, ...["#", "Endpoint", "Event", "State", "Attempts", "Last status", "Last error", "Created", ""].map(
        (c) => h("th", { scope: "col" }, c)))),
      body)));

  let urls = new Map();
  // What was last drawn: an unchanged answer is not redrawn (focus and buttons stay put).
  let drawn = "";

  const redeliverButton = (delivery) => {
    const button = h("button", { type: "button" }, "Redeliver");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await api.post(base + "/deliveries/" + delivery.seq + "/redeliver");
        notice.show("Delivery " + delivery.seq + " queued again.");
        drawn = "";
        announce("Delivery " + delivery.seq + " queued again");
        await load();
      } catch (err) {
        error.show(err.message);
        button.disabled = false;
      }
    });
    return button;
  };

  const deliveryRow = (d) => h("tr", { dataset: { seq: d.seq }, class: failed(d) ? "failed" : null },
    h("td", { "data-label": "#" }, d.seq),
    h("td", { "data-label": "Endpoint", class: "url" }, urls.get(d.endpoint_id) || d.endpoint_id),
    h("td", { "data-label": "Event" }, d.event_type),
    h("td", { "data-label": "State" }, statusBadge(d.state, "delivery-state")),
    h("td", { "data-label": "Attempts" }, d.attempts),
    h("td", { "data-label": "Last status" }, d.last_status ?? "—"),
    h("td", { "data-label": "Last error", class: "error-detail" }, d.last_error || ""),
    h("td", { "data-label": "Created" }, formatTime(d.created_at)),
    h("td", {}, failed(d) ? redeliverButton(d) : null));

  const load = async () => {
    try {
      const [hooks, deliveries] = await Promise.all([
        api.get(base + "/webhooks"),
        api.get(base + "/deliveries", { limit: LIMIT }),
      ]);
      const key = JSON.stringify([hooks, deliveries]);
      error.show("");
      if (key === drawn) return;
      drawn = key;
      urls = new Map((hooks.webhooks || []).map((w) => [w.id, w.url]));
      clear(endpoints, (hooks.webhooks || []).map((w) => h("li", { dataset: { endpointId: w.id } },
        h("span", { class: "url" }, w.url), " ",
        statusBadge(w.enabled ? "enabled" : "disabled", "endpoint-state"),
        w.disabled_reason ? h("small", { class: "muted" }, " " + w.disabled_reason) : null,
        h("small", { class: "muted" }, " — " + (w.events && w.events.length ? w.events.join(", ") : "all events")))));
      if (!endpoints.children.length) endpoints.append(h("li", { class: "muted" }, "No webhook endpoint."));
      // Newest first.
      const items = (deliveries.deliveries || []).slice().sort((a, b) => b.seq - a.seq);
      clear(body, items.map(deliveryRow));
      if (!items.length) body.append(h("tr", {}, h("td", { colspan: 9, class: "muted" }, "No delivery yet.")));
    } catch (err) {
      error.show(err.message);
    }
  };
  refresh.addEventListener("click", load);
  let pending = null;
  const off = ctx.feed.on("message", (event) => {
    if (event.session_id !== session.id || pending !== null) return;
    pending = window.setTimeout(() => { pending = null; load(); }, 1500);
  });
  const timer = window.setInterval(load, 10000);
  load();
  return () => { off(); window.clearInterval(timer); window.clearTimeout(pending); };
}
