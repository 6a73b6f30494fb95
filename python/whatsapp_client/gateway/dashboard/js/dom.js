// Small DOM helpers: elements built with text nodes only (never HTML from data), and
// the formatting every page shares.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      node.className = value;
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (value === true) {
      node.setAttribute(key, "");
    } else {
      node.setAttribute(key, String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

let fieldCount = 0;

// A labelled control: <label for> + the control (input, select or textarea).
export function field(label, control, hint) {
  fieldCount += 1;
  if (!control.id) control.id = "f" + fieldCount;
  const wrap = h("div", { class: "field" }, h("label", { for: control.id }, label), control);
  if (hint) {
    const hintNode = h("small", { id: control.id + "-hint", class: "muted" }, hint);
    control.setAttribute("aria-describedby", hintNode.id);
    wrap.append(hintNode);
  }
  return wrap;
}

export function select(name, options, value) {
  const node = h("select", { name });
  for (const option of options) {
    const [val, text] = Array.isArray(option) ? option : [option, option];
    node.append(h("option", { value: val, selected: val === value }, text));
  }
  return node;
}

// The status word as text and as data-status (colour comes from CSS, never alone).
export function statusBadge(status, extraClass = "status") {
  return h("span", { class: extraClass, "data-status": status }, status);
}

export function setStatus(node, status) {
  node.textContent = status;
  node.dataset.status = status;
}

export function formatTime(ms) {
  if (ms === null || ms === undefined) return "—";
  return new Date(ms).toLocaleString();
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const hrs = Math.floor((s % 86400) / 3600);
  const min = Math.floor((s % 3600) / 60);
  if (d) return `${d} d ${hrs} h`;
  if (hrs) return `${hrs} h ${min} min`;
  if (min) return `${min} min ${s % 60} s`;
  return `${s} s`;
}

export function announce(text) {
  const node = document.getElementById("announcer");
  if (!node) return;
  node.textContent = "";
  // A fresh text node so that screen readers announce a repeated message again.
  window.setTimeout(() => { node.textContent = text; }, 50);
}

// An error line (role=alert) that stays hidden while empty.
export function alertBox() {
  const node = h("p", { class: "error", role: "alert", hidden: true });
  node.show = (message) => {
    node.textContent = message;
    node.hidden = !message;
  };
  return node;
}

// A polite status line for results ("Message queued", ...).
export function noticeBox() {
  const node = h("p", { class: "notice", role: "status", "aria-live": "polite" });
  node.show = (message) => { node.textContent = message; };
  return node;
}

export function confirmDialog(text, confirmLabel = "Delete") {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = confirmLabel;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
    dialog.showModal();
  });
}
