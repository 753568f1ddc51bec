// Vigil dashboard: a single page over the HTTP API. Pages are chosen by the
// URL fragment; every datum comes from /api; violation events arrive live
// through the server-sent events of /api/violation-events/stream. This file
// routes and starts; core.js holds the shared parts, the other files the
// pages.
"use strict";
(function () {
  const { h, api, session, onSignedOut, loading, refreshSummary, clearLive, connectStream, closeStream, streamOpen, pages: P } = window.Vigil;
  const main = document.getElementById("main");

  // ---------- router ----------
  const routes = [
    [/^$/, P.overview, "overview"],
    [/^profiles$/, P.profiles, "profiles"],
    [/^profile\/(.+)$/, P.profilePage, "profiles"],
    [/^things$/, P.things, "things"],
    [/^thing\/(.+)$/, P.thingPage, "things"],
    [/^violations$/, P.violations, "violations"],
    [/^editor(?:\/(.+))?$/, P.editor, "editor"],
  ];
  let renderSeq = 0;
  async function route() {
    const seq = ++renderSeq;
    if (document.body.classList.contains("signed-out")) return;
    clearLive();
    document.getElementById("tooltip").hidden = true;
    const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
    const params = new URLSearchParams(query || "");
    for (const [re, page, nav] of routes) {
      const m = path.match(re);
      if (!m) continue;
      for (const a of document.querySelectorAll("header nav a")) {
        if (a.dataset.nav === nav) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
      }
      main.textContent = "";
      main.append(loading());
      try {
        await refreshSummary();
        const view = await page(m[1] ? decodeURIComponent(m[1]) : undefined, params, () => seq === renderSeq);
        if (seq !== renderSeq) return;
        main.textContent = "";
        main.append(view);
        document.dispatchEvent(new CustomEvent("vigil:rendered", { detail: { page: nav } }));
      } catch (err) {
        if (seq !== renderSeq) return;
        main.textContent = "";
        main.append(h("div", { class: "notice error", role: "alert" }, err.message || String(err)));
      }
      return;
    }
    main.textContent = "";
    main.append(h("div", { class: "notice error" }, "No such page. ", h("a", { href: "#/" }, "Go to the overview")));
  }

  // ---------- start ----------
  function theme() {
    const btn = document.getElementById("theme");
    const apply = (t) => { document.documentElement.dataset.theme = t; btn.textContent = t === "dark" ? "Light" : "Dark"; };
    apply(localStorage.getItem("vigil-theme") || "dark");
    btn.addEventListener("click", () => {
      const t = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
      localStorage.setItem("vigil-theme", t);
      apply(t);
      route();
    });
  }
  // ---------- sign-in ----------
  // When the server asks for a token, the page shows the sign-in until
  // POST /api/session accepts one; the session then lives in an HttpOnly
  // cookie, which the page itself never sees.
  const signin = document.getElementById("signin");
  const tokenInput = document.getElementById("signin-token");
  const signinError = document.getElementById("signin-error");
  function showSignIn(reason) {
    renderSeq++;
    closeStream();
    clearLive();
    document.getElementById("tooltip").hidden = true;
    const dlg = document.getElementById("verify");
    if (dlg.open) dlg.close();
    if (!signin.hidden) return;
    document.body.classList.add("signed-out");
    main.textContent = "";
    document.getElementById("signin-why").textContent = reason || "This Vigil server asks for an access token.";
    signinError.textContent = "";
    tokenInput.removeAttribute("aria-invalid");
    document.getElementById("signin-field").classList.remove("invalid");
    tokenInput.value = "";
    signin.hidden = false;
    tokenInput.focus();
  }
  function signedIn(info) {
    session.required = !!info.authenticationRequired;
    session.role = info.role || "admin";
    const role = document.getElementById("role");
    role.hidden = !session.required;
    role.textContent = session.role === "admin" ? "admin" : "read-only";
    role.className = "tag " + session.role;
    role.title = session.role === "admin" ? "Signed in with an admin token" : "Signed in with a read-only token: viewing only";
    document.getElementById("signout").hidden = !session.required;
    signin.hidden = true;
    document.body.classList.remove("signed-out");
    closeStream();
    connectStream();
    route();
  }
  document.getElementById("signin-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const field = document.getElementById("signin-field");
    const submit = document.getElementById("signin-submit");
    signinError.textContent = "";
    field.classList.remove("invalid");
    tokenInput.removeAttribute("aria-invalid");
    if (!tokenInput.value.trim()) {
      signinError.textContent = "Enter a token.";
      field.classList.add("invalid");
      tokenInput.setAttribute("aria-invalid", "true");
      tokenInput.focus();
      return;
    }
    submit.disabled = true;
    try {
      const info = await api("/session", { method: "POST", json: { token: tokenInput.value } });
      tokenInput.value = "";
      signedIn(info);
      main.focus({ preventScroll: true });
    } catch (x) {
      signinError.textContent = x.status === 401 ? "This token is not valid." : x.message;
      field.classList.add("invalid");
      tokenInput.setAttribute("aria-invalid", "true");
      tokenInput.select();
    } finally {
      submit.disabled = false;
    }
  });
  document.getElementById("signout").addEventListener("click", async () => {
    try { await api("/session", { method: "DELETE" }); } catch (x) { /* the cookie is cleared or already gone */ }
    showSignIn("You are signed out.");
  });
  onSignedOut(showSignIn);

  async function start() {
    try {
      signedIn(await api("/session"));
    } catch (x) {
      if (x.status === 401) { showSignIn(); return; }
      main.textContent = "";
      main.append(h("div", { class: "notice error", role: "alert" }, "The API cannot be reached: " + (x.message || String(x))));
    }
  }

  theme();
  // Close the stream when the page goes away (or into the back-forward
  // cache), so that it does not hold one of the browser's few connections
  // to the server; open it again when the page comes back.
  window.addEventListener("pagehide", closeStream);
  window.addEventListener("pageshow", (e) => { if (e.persisted && !streamOpen()) start(); });
  window.addEventListener("hashchange", () => { route(); main.focus({ preventScroll: true }); });
  start();
})();
