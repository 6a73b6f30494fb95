// A log table with a Level select: the last records from /api/v1/logs (at least 100),
// newest first, followed live from the event stream. Each row shows the level, time,
// logger, message and, for a failure, the error and its context. Used by a session's Logs
// tab (session_id set) and by the admin panel (all records).

import { api } from "./api.js";
import { alertBox, clear, field, formatTime, h, select } from "./dom.js";

const LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"];
const RANK = Object.fromEntries(LEVELS.map((level, i) => [level, i]));
const LIMIT = 200;

function context(record) {
  const entries = Object.entries(record.context || {});
  for (const key of ["message_id"]) if (record[key]) entries.unshift([key, record[key]]);
  if (!entries.length) return null;
  return h("dl", { class: "context" }, entries.flatMap(([key, value]) => [
    h("dt", {}, key), h("dd", {}, typeof value === "string" ? value : JSON.stringify(value))]));
}

function row(record) {
  const level = record.level || "INFO";
  return h("tr", { class: "log-" + level.toLowerCase(), dataset: { logId: record.id ?? "" } },
    h("td", { "data-label": "Level" }, h("span", { class: "level", "data-level": level }, level)),
    h("td", { "data-label": "Time" }, h("time", { datetime: new Date(record.time).toISOString() }, formatTime(record.time))),
    h("td", { "data-label": "Source", class: "muted" }, record.logger || ""),
    h("td", { "data-label": "Message", class: "log-message" },
      h("div", {}, record.message || ""),
      record.error ? h("div", { class: "error-detail" }, "Error: " + record.error) : null,
      context(record)));
}

export function logsView({ sessionId, feed, initialLevel = "INFO" }) {
  const level = select("level", LEVELS, initialLevel);
  const error = alertBox();
  const body = h("tbody");
  const count = h("p", { class: "muted" });
  const refresh = h("button", { type: "button" }, "Refresh");
  const node = h("div", { class: "logs" },
    h("div", { class: "filters" }, field("Level", level), h("div", { class: "actions" }, refresh)),
    error, count,
    h("div", { class: "table-wrap" }, h("table", { class: "log-table" },
      h("caption", { class: "visually-hidden" }, "Log records, newest first"),
      h("thead", {}, h("tr", {}, ...["Level", "Time", "Source", "Message"].map((c) => h("th", { scope: "col" }, c)))),
      body)));

  let records = [];
  const draw = () => {
    clear(body, records.map(row));
    count.textContent = records.length + " record" + (records.length === 1 ? "" : "s") + " at " + level.value + " or above";
  };
  const load = async () => {
    try {
      const data = await api.get("/logs", { level: level.value, session_id: sessionId, limit: LIMIT });
      records = (data.items || []).slice().sort((a, b) => b.time - a.time || (b.id > a.id ? 1 : -1));
      error.show("");
      draw();
    } catch (err) {
      error.show(err.status === 404 ? "The logs are not available on this gateway." : err.message);
    }
  };
  level.addEventListener("change", load);
  refresh.addEventListener("click", load);
  const off = feed.on("log", (record) => {
    if (sessionId && record.session_id !== sessionId) return;
    if ((RANK[record.level] ?? 0) < RANK[level.value]) return;
    if (record.id !== undefined && records.some((r) => r.id === record.id)) return;
    records.unshift(record);
    records.length = Math.min(records.length, LIMIT);
    body.prepend(row(record));
    if (body.children.length > LIMIT) body.lastElementChild.remove();
    count.textContent = records.length + " record" + (records.length === 1 ? "" : "s") + " at " + level.value + " or above";
  });
  // Without the stream the table is reloaded instead.
  const timer = window.setInterval(() => { if (!feed.live) load(); }, 5000);
  load();
  return { node, cleanup: () => { off(); window.clearInterval(timer); } };
}
