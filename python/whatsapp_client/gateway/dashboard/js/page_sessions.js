// The session list: one row per session (data-session-id) with its name, engine, a live
// status badge, last activity and the Restart / Stop / Delete buttons; "New session".

import { api } from "./api.js";
import { alertBox, announce, clear, formatTime, h, setStatus, statusBadge } from "./dom.js";
import { sessionPath } from "./router.js";
import { actionButtons } from "./session_actions.js";
import { sessionForm } from "./session_form.js";

function sessionRow(session, handlers) {
  const badge = statusBadge(session.status);
  const reason = h("span", { class: "reason muted" }, session.status_reason || "");
  const row = h("tr", { dataset: { sessionId: session.id } },
    h("th", { scope: "row" }, h("a", { href: "#" + sessionPath(session.id) }, session.name)),
    h("td", { "data-label": "Engine" }, session.engine),
    h("td", { "data-label": "Status" }, badge, " ", reason),
    h("td", { "data-label": "Last activity", class: "activity" }, formatTime(session.last_activity_at)),
    h("td", { "data-label": "Actions" }, actionButtons(session, handlers)));
  row.update = (next) => {
    if (next.status && next.status !== badge.dataset.status) {
      setStatus(badge, next.status);
      announce(session.name + " is now " + next.status);
    }
    if (next.status) reason.textContent = next.status_reason || next.reason || "";
    if (next.last_activity_at) row.querySelector(".activity").textContent = formatTime(next.last_activity_at);
  };
  return row;
}

export function mount(container, route, ctx) {
  const error = alertBox();
  const formSlot = h("div");
  const newButton = h("button", { type: "button", class: "primary", "aria-expanded": "false" }, "New session");
  const body = h("tbody");
  const empty = h("p", { class: "muted", hidden: true }, "No session yet. Create one with “New session”.");
  const table = h("table", { class: "sessions" },
    h("caption", { class: "visually-hidden" }, "Sessions and their status"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Engine"),
      h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Last activity"),
      h("th", { scope: "col" }, "Actions"))),
    body);
  container.append(
    h("div", { class: "title-row" }, h("h1", {}, "Sessions"), newButton),
    error, formSlot, empty, h("div", { class: "table-wrap" }, table));

  const rows = new Map();
  const handlers = {
    onChanged: (session) => { const row = rows.get(session.id); if (row) row.update(session); },
    onDeleted: (id) => { const row = rows.get(id); if (row) row.remove(); rows.delete(id); empty.hidden = rows.size > 0; newButton.focus(); },
    onError: (message) => error.show(message),
  };

  const render = (sessions) => {
    const seen = new Set();
    for (const session of sessions) {
      seen.add(session.id);
      const row = rows.get(session.id);
      if (row) row.update(session);
      else {
        const fresh = sessionRow(session, handlers);
        rows.set(session.id, fresh);
        body.append(fresh);
      }
    }
    for (const [id, row] of rows) {
      if (!seen.has(id)) { row.remove(); rows.delete(id); }
    }
    empty.hidden = rows.size > 0;
  };

  const load = async () => {
    try {
      const data = await api.get("/sessions");
      render(data.sessions || []);
    } catch (err) {
      error.show(err.message);
    }
  };

  const closeForm = () => {
    clear(formSlot);
    newButton.setAttribute("aria-expanded", "false");
    newButton.focus();
  };
  newButton.addEventListener("click", () => {
    if (formSlot.firstChild) { closeForm(); return; }
    const { form, focus } = sessionForm({
      onCreated: (session) => {
        closeForm();
        announce("Created session " + session.name);
        load();
      },
      onCancel: closeForm,
    });
    formSlot.append(form);
    newButton.setAttribute("aria-expanded", "true");
    focus.focus();
  });

  const offs = [
    ctx.feed.on("session", (event) => {
      const row = rows.get(event.session_id);
      if (row) row.update({ status: event.status, reason: event.reason || "" });
      else load();
    }),
    ctx.feed.on("sessions", render),
  ];
  load();
  return () => offs.forEach((off) => off());
}
