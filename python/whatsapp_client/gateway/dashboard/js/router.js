// Hash routes: #/login, #/sessions, #/sessions/<id>[/<tab>], #/admin.

export function parse(hash) {
  const parts = (hash || "").replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "login") return { name: "login" };
  if (parts[0] === "admin") return { name: "admin" };
  if (parts[0] === "sessions" && parts[1]) {
    return { name: "session", id: parts[1], tab: parts[2] || "overview" };
  }
  return { name: "sessions" };
}

export function go(path) {
  if (window.location.hash === "#" + path) {
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    window.location.hash = path;
  }
}

export function sessionPath(id, tab) {
  return "/sessions/" + encodeURIComponent(id) + (tab && tab !== "overview" ? "/" + tab : "");
}

export function onRoute(callback) {
  const run = () => callback(parse(window.location.hash));
  window.addEventListener("hashchange", run);
  run();
}
