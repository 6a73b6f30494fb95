// The app: who is logged in, the header, and which page the hash route shows.

import { api, cookie } from "./api.js";
import { announce } from "./dom.js";
import { feed } from "./events.js";
import { go, onRoute } from "./router.js";
import * as loginPage from "./page_login.js";
import * as sessionsPage from "./page_sessions.js";
import * as sessionPage from "./page_session.js";
import * as adminPage from "./page_admin.js";

const state = { user: null, route: null, cleanup: null, checked: false };

function header() {
  const user = state.user;
  document.getElementById("nav").hidden = !user;
  document.getElementById("nav-admin").hidden = !(user && user.role === "admin");
  document.getElementById("nav-user").textContent = user ? user.email : "";
  for (const link of document.querySelectorAll("#nav a")) {
    const current = state.route && link.getAttribute("href") === "#/" + state.route.name;
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function show(route) {
  if (state.cleanup) state.cleanup();
  state.cleanup = null;
  state.route = route;
  const main = document.getElementById("main");
  main.replaceChildren();
  const ctx = { user: state.user, feed, onLogin: loggedIn };
  let page;
  if (!state.user || state.user.must_change_password || route.name === "login") {
    page = loginPage;
    ctx.mustChange = Boolean(state.user && state.user.must_change_password);
  } else if (route.name === "admin" && state.user.role === "admin") {
    page = adminPage;
  } else if (route.name === "session") {
    page = sessionPage;
  } else {
    page = sessionsPage;
  }
  header();
  state.cleanup = page.mount(main, route, ctx) || null;
  // A new page: keyboard and screen reader users start at its top, not on a removed node.
  if (!main.contains(document.activeElement)) main.focus({ preventScroll: true });
  const heading = main.querySelector("h1");
  document.title = (heading ? heading.textContent + " · " : "") + "whatsapp-client gateway";
}

function loggedIn(user) {
  state.user = user;
  if (user.must_change_password) {
    show({ name: "login" });
    return;
  }
  feed.start();
  announce("Logged in as " + user.email);
  if (!state.route || state.route.name === "login") go("/sessions");
  else show(state.route);
}

function loggedOut() {
  feed.stop();
  state.user = null;
  show({ name: "login" });
}

async function logOut() {
  try {
    await api.post("/auth/logout", undefined, { quiet: true });
  } catch (err) {
    // Already gone on the server: nothing more to end.
  }
  loggedOut();
  go("/login");
  announce("Logged out");
}

async function start() {
  document.getElementById("logout").addEventListener("click", logOut);
  window.addEventListener("wag:unauthorized", () => { if (state.user) loggedOut(); });
  window.addEventListener("wag:password-required", () => {
    if (state.user) {
      state.user = { ...state.user, must_change_password: true };
      show({ name: "login" });
    }
  });
  try {
    // No CSRF cookie: no browser session either. Not asking then spares a refused
    // request (the gateway counts those per address).
    const me = cookie("wag_csrf") ? await api.get("/auth/me", undefined, { quiet: true }) : null;
    state.user = me && me.user ? me.user : me;
  } catch (err) {
    state.user = null;
  }
  if (state.user && !state.user.must_change_password) feed.start();
  onRoute(show);
}

start();
