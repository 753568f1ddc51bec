// Vigil dashboard: a single page over the HTTP API. Pages are chosen by the
// URL fragment; every datum comes from /api; violation events arrive live
// through the server-sent events of /api/violation-events/stream. This file
// routes and starts; core.js holds the shared parts, the other files the
// pages.
"use strict";
(function () {
  const { h, loading, refreshSummary, clearLive, connectStream, closeStream, streamOpen, pages: P } = window.Vigil;
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
  theme();
  connectStream();
  // Close the stream when the page goes away (or into the back-forward
  // cache), so that it does not hold one of the browser's few connections
  // to the server; open it again when the page comes back.
  window.addEventListener("pagehide", closeStream);
  window.addEventListener("pageshow", (e) => { if (e.persisted && !streamOpen()) { connectStream(); route(); } });
  window.addEventListener("hashchange", () => { route(); main.focus({ preventScroll: true }); });
  route();
})();
