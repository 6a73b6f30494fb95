// Restart, Stop and Delete of one session (the list and the session page share them).

import { api } from "./api.js";
import { announce, confirmDialog, h } from "./dom.js";

export function actionButtons(session, { onChanged, onDeleted, onError }) {
  const path = "/sessions/" + encodeURIComponent(session.id);
  const run = async (label, work) => {
    try {
      await work();
    } catch (err) {
      onError(label + " " + session.name + ": " + err.message);
    }
  };
  const restart = h("button", { type: "button" }, "Restart");
  const stop = h("button", { type: "button" }, "Stop");
  const remove = h("button", { type: "button", class: "danger" }, "Delete");
  restart.addEventListener("click", () => run("Restart", async () => {
    onChanged(await api.post(path + "/restart"));
    announce("Restarting " + session.name);
  }));
  stop.addEventListener("click", () => run("Stop", async () => {
    onChanged(await api.post(path + "/stop"));
    announce("Stopped " + session.name);
  }));
  remove.addEventListener("click", async () => {
    const sure = await confirmDialog(
      "Delete session “" + session.name + "”? Its keys, history, queue and media are erased.",
      "Delete");
    if (!sure) {
      remove.focus();
      return;
    }
    await run("Delete", async () => {
      await api.del(path);
      announce("Deleted " + session.name);
      onDeleted(session.id);
    });
  });
  return h("div", { class: "actions row-actions" }, restart, stop, remove);
}
