// One session: its name, live status and actions, and the tabs Overview, Send, Messages,
// Webhooks and Logs (the tab is part of the hash route, so it survives a reload).

import { api } from "./api.js";
import { alertBox, announce, h, setStatus, statusBadge } from "./dom.js";
import { go, sessionPath } from "./router.js";
import { actionButtons } from "./session_actions.js";
import * as overview from "./tab_overview.js";
import * as send from "./tab_send.js";
import * as messages from "./tab_messages.js";
import * as webhooks from "./tab_webhooks.js";
import * as logs from "./tab_logs.js";

const TABS = [
  ["overview", "Overview", overview],
  ["send", "Send", send],
  ["messages", "Messages", messages],
  ["webhooks", "Webhooks", webhooks],
  ["logs", "Logs", logs],
];

// The tab to focus after the route change a tab click makes (the page is rebuilt).
let focusTab = null;

function tabList(id, current) {
  const list = h("div", { role: "tablist", "aria-label": "Session views", class: "tabs" });
  const buttons = TABS.map(([key, label]) => h("button", {
    type: "button", role: "tab", id: "tab-" + key, "aria-controls": "panel",
    "aria-selected": String(key === current), tabindex: key === current ? "0" : "-1",
    onclick: () => { focusTab = key; go(sessionPath(id, key)); },
  }, label));
  // Arrow keys move between tabs (the WAI-ARIA tabs pattern); Tab goes into the panel.
  list.addEventListener("keydown", (event) => {
    const index = buttons.indexOf(document.activeElement);
    if (index < 0) return;
    let next = null;
    if (event.key === "ArrowRight") next = (index + 1) % buttons.length;
    else if (event.key === "ArrowLeft") next = (index - 1 + buttons.length) % buttons.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = buttons.length - 1;
    if (next === null) return;
    event.preventDefault();
    buttons[next].focus();
    buttons[next].click();
  });
  list.append(...buttons);
  if (focusTab === current) window.setTimeout(() => buttons[TABS.findIndex(([key]) => key === current)].focus(), 0);
  focusTab = null;
  return list;
}

export function mount(container, route, ctx) {
  const known = TABS.find(([key]) => key === route.tab) || TABS[0];
  const [tabKey, tabLabel, tab] = known;
  const error = alertBox();
  const title = h("h1", {}, "Session");
  const badge = statusBadge("connecting");
  badge.hidden = true;
  const reason = h("span", { class: "reason muted" });
  const actions = h("div");
  const panel = h("section", { role: "tabpanel", id: "panel", "aria-labelledby": "tab-" + tabKey, tabindex: "0" });
  container.append(
    h("p", {}, h("a", { href: "#/sessions" }, "← Sessions")),
    h("div", { class: "title-row" }, title, h("p", { class: "session-status" }, badge, " ", reason)),
    actions, error);

  let session = null;
  let tabCleanup = null;
  const update = (next) => {
    if (next.name) title.textContent = next.name;
    if (next.status) {
      if (!badge.hidden && badge.dataset.status !== next.status) {
        announce((session ? session.name : "The session") + " is now " + next.status);
      }
      setStatus(badge, next.status);
      badge.hidden = false;
      reason.textContent = next.status_reason || next.reason || "";
    }
  };
  const handlers = {
    onChanged: update,
    onDeleted: () => go("/sessions"),
    onError: (message) => error.show(message),
  };

  const offs = [
    ctx.feed.on("session", (event) => { if (event.session_id === route.id) update(event); }),
    ctx.feed.on("sessions", (list) => {
      const found = list.find((s) => s.id === route.id);
      if (found) update(found);
    }),
  ];

  (async () => {
    try {
      session = await api.get("/sessions/" + encodeURIComponent(route.id));
    } catch (err) {
      error.show(err.status === 404 ? "Session not found: it does not exist, or it is not yours." : err.message);
      return;
    }
    // The tabs only once the session is known to be there (and visible to this user).
    container.append(tabList(route.id, tabKey), panel);
    update(session);
    document.title = session.name + " · " + tabLabel + " · whatsapp-client gateway";
    actions.append(actionButtons(session, handlers));
    tabCleanup = tab.mount(panel, session, ctx) || null;
  })();

  return () => {
    offs.forEach((off) => off());
    if (tabCleanup) tabCleanup();
  };
}
