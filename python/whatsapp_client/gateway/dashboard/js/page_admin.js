// The admin panel: users, every session with its owner, API keys and the gateway's logs.

import { api } from "./api.js";
import { alertBox, clear, formatTime, h, statusBadge } from "./dom.js";
import { keysSection } from "./admin_keys.js";
import { usersSection } from "./admin_users.js";
import { logsView } from "./logs_view.js";
import { sessionPath } from "./router.js";

function sessionsSection() {
  const error = alertBox();
  const body = h("tbody");
  const section = h("section", { "aria-labelledby": "all-sessions-title", class: "card" },
    h("h2", { id: "all-sessions-title" }, "All sessions"), error,
    h("div", { class: "table-wrap" }, h("table", {},
      h("caption", { class: "visually-hidden" }, "All sessions and their owners"),
      h("thead", {}, h("tr", {}, ...["Name", "Owner", "Engine", "Status", "Created"].map((c) => h("th", { scope: "col" }, c)))),
      body)));
  let emails = new Map();
  let sessions = [];
  const draw = () => clear(body, sessions.map((s) => h("tr", { dataset: { sessionId: s.id } },
    h("th", { scope: "row" }, h("a", { href: "#" + sessionPath(s.id) }, s.name)),
    h("td", { "data-label": "Owner" }, emails.get(s.owner_id) || s.owner_id || "—"),
    h("td", { "data-label": "Engine" }, s.engine),
    h("td", { "data-label": "Status" }, statusBadge(s.status)),
    h("td", { "data-label": "Created" }, formatTime(s.created_at)))));
  (async () => {
    try {
      sessions = (await api.get("/sessions")).sessions || [];
      draw();
    } catch (err) {
      error.show(err.message);
    }
  })();
  section.setUsers = (users) => { emails = new Map(users.map((u) => [u.id, u.email])); draw(); };
  return section;
}

export function mount(container, route, ctx) {
  const sessions = sessionsSection();
  const keys = keysSection(ctx);
  const users = usersSection(ctx, (list) => { sessions.setUsers(list); keys.setUsers(list); });
  const logs = logsView({ feed: ctx.feed, initialLevel: "WARNING" });
  container.append(h("h1", {}, "Admin"), users, sessions, keys,
    h("section", { "aria-labelledby": "gateway-logs-title", class: "card" },
      h("h2", { id: "gateway-logs-title" }, "Gateway logs"), logs.node));
  return logs.cleanup;
}
