// Send: a text, or a file (with the text as its caption), to a user id or username.

import { api } from "./api.js";
import { alertBox, field, h, noticeBox } from "./dom.js";

export function mount(panel, session) {
  const to = h("input", { type: "text", name: "to", required: true, maxlength: 256, autocomplete: "off" });
  const text = h("textarea", { name: "text", rows: 4, maxlength: 65536 });
  const file = h("input", { type: "file", name: "file" });
  const error = alertBox();
  const notice = noticeBox();
  const button = h("button", { type: "submit", class: "primary" }, "Send");
  const form = h("form", { class: "card", "aria-labelledby": "send-title" },
    h("h2", { id: "send-title" }, "Send a message"),
    field("To", to, "A user id or username."),
    field("Text", text, "With a file, the text is its caption."),
    field("File", file),
    error, notice,
    h("div", { class: "actions" }, button));
  panel.append(form);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.show("");
    notice.show("");
    const chosen = file.files && file.files[0];
    if (!chosen && !text.value) {
      error.show("Write a text or choose a file.");
      text.focus();
      return;
    }
    const path = "/sessions/" + encodeURIComponent(session.id) + "/messages";
    button.disabled = true;
    try {
      let answer;
      if (chosen) {
        const body = new FormData();
        body.append("to", to.value.trim());
        if (text.value) body.append("caption", text.value);
        body.append("file", chosen, chosen.name);
        answer = await api.upload(path, body);
      } else {
        answer = await api.post(path, { to: to.value.trim(), text: text.value });
      }
      notice.show("Message " + answer.id + " is " + answer.status + ".");
      text.value = "";
      file.value = "";
    } catch (err) {
      error.show(err.message);
    } finally {
      button.disabled = false;
    }
  });
}
