// Overview: counters (Sent, Received, Failed), uptime, last activity, queue depth and the
// messages-per-minute chart, from /sessions/{id}/stats; refreshed on the session's live
// events and every 10 s (the chart moves with the clock).

import { api } from "./api.js";
import { chart, legend } from "./chart.js";
import { alertBox, clear, formatDuration, formatTime, h } from "./dom.js";

const REFRESH_MS = 10000;

function stat(label, value, small) {
  return h("div", { class: "stat" }, h("dt", {}, label), h("dd", { class: small ? "small" : null }, value));
}

// The session's own record until the stats route answers (older gateway, or a failure).
function fromSession(session) {
  return {
    counters: session.counters || {},
    queue_depth: session.queue_depth,
    uptime_seconds: null,
    last_activity_at: session.last_activity_at,
    per_minute: [],
  };
}

export function mount(panel, session, ctx) {
  const error = alertBox();
  const stats = h("dl", { class: "stats" });
  const figure = h("figure", { class: "chart-box" },
    h("figcaption", {}, "Messages per minute (last 60 minutes)"));
  const chartSlot = h("div");
  figure.append(chartSlot, legend());
  panel.append(h("h2", { class: "visually-hidden" }, "Overview"), error, stats, figure);

  const render = (data) => {
    const counters = data.counters || {};
    clear(stats,
      stat("Sent", counters.sent ?? 0),
      stat("Received", counters.received ?? 0),
      stat("Failed", counters.failed ?? 0),
      stat("Uptime", formatDuration(data.uptime_seconds)),
      stat("Last activity", formatTime(data.last_activity_at), true),
      stat("Queue depth", data.queue_depth ?? "—"));
    clear(chartSlot, chart(data.per_minute || [], chartSlot.clientWidth || 600));
  };

  let pending = null;
  const load = async () => {
    try {
      render(await api.get("/sessions/" + encodeURIComponent(session.id) + "/stats"));
      error.show("");
    } catch (err) {
      if (err.status === 404) render(fromSession(session));
      else error.show(err.message);
    }
  };
  // Bursts of events coalesce into one request.
  const soon = () => {
    if (pending === null) pending = window.setTimeout(() => { pending = null; load(); }, 500);
  };
  const mine = (event) => { if (event.session_id === session.id) soon(); };
  const offs = [ctx.feed.on("counters", mine), ctx.feed.on("session", mine), ctx.feed.on("message", mine)];
  const timer = window.setInterval(load, REFRESH_MS);
  render(fromSession(session));
  load();
  return () => {
    offs.forEach((off) => off());
    window.clearInterval(timer);
    window.clearTimeout(pending);
  };
}
