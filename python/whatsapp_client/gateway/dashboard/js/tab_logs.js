// Logs: the session's last log records, by level.

import { h } from "./dom.js";
import { logsView } from "./logs_view.js";

export function mount(panel, session, ctx) {
  const view = logsView({ sessionId: session.id, feed: ctx.feed });
  panel.append(h("h2", { class: "visually-hidden" }, "Logs"), view.node);
  return view.cleanup;
}
