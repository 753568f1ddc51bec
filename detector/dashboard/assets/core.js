// Vigil dashboard, shared parts: constants, DOM and formatting helpers, the
// API client, the live event stream and the verdict dialog. The pages
// (views.js, violations.js, editor.js) and the router (app.js) use them
// through window.Vigil.
"use strict";
(function () {
  const C = window.VigilChart;
  const STATS = ["p0", "p10", "p50", "p90", "p99", "p100"];
  const PERIODS = { "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3, "14d": 14 * 86400e3 };
  const STEP = 300e3; // the fleet summaries' 5-minute windows
  const SET_METRICS = ["aws:listening-tcp-ports", "aws:listening-udp-ports", "aws:destination-ip-addresses", "aws:source-ip-address"];
  const AWS_METRICS = [
    "aws:all-bytes-out", "aws:all-bytes-in", "aws:all-packets-out", "aws:all-packets-in",
    "aws:num-listening-tcp-ports", "aws:num-listening-udp-ports", "aws:num-established-tcp-connections",
    "aws:listening-tcp-ports", "aws:listening-udp-ports", "aws:destination-ip-addresses",
    "aws:message-byte-size", "aws:num-messages-sent", "aws:num-messages-received", "aws:num-authorization-failures",
    "aws:num-connection-attempts", "aws:num-disconnects", "aws:disconnect-duration", "aws:source-ip-address",
  ];
  const STATIC_OPS = ["less-than", "less-than-equals", "greater-than", "greater-than-equals"];
  const SET_OPS = ["in-port-set", "not-in-port-set", "in-cidr-set", "not-in-cidr-set", "in-set", "not-in-set"];
  const THRESHOLD_STATS = ["p0", "p0.01", "p0.1", "p1", "p10", "p50", "p90", "p99", "p99.9", "p99.99", "p100"];
  const STATES = { TRUE_POSITIVE: "True positive", BENIGN_POSITIVE: "Benign positive", FALSE_POSITIVE: "False positive", UNKNOWN: "Unknown" };

  // ---------- small helpers ----------
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      const v = attrs[k];
      if (v == null || v === false) continue;
      if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const k of kids.flat(Infinity)) if (k != null && k !== false) e.append(k instanceof Node ? k : String(k));
    return e;
  }
  const enc = encodeURIComponent;
  const ms = (sec) => Math.round(sec * 1000);
  const secs = (msv) => (msv / 1000).toFixed(3);
  const fmtTime = (sec) => C.fmtTime(ms(sec));
  function valueText(v) {
    if (!v) return "–";
    if (v.count != null) return C.fmtNumber(v.count);
    if (v.number != null) return C.fmtNumber(v.number);
    for (const k of ["ports", "cidrs", "numbers", "strings"]) if (v[k]) return v[k].length > 4 ? v[k].slice(0, 4).join(", ") + ` +${v[k].length - 4}` : v[k].join(", ");
    return "–";
  }
  function numericValue(v) {
    if (!v) return null;
    if (v.count != null) return v.count;
    if (v.number != null) return v.number;
    return null;
  }
  function criteriaText(b) {
    const c = b.criteria || {};
    let what = c.comparisonOperator || "";
    if (c.statisticalThreshold) {
      const f = c.statisticalThreshold.factor;
      what += ` ${c.statisticalThreshold.statistic}${f != null && f !== 1 ? (c.comparisonOperator.startsWith("less") ? " × " : " ÷ ") + f : ""} of the fleet`;
    } else if (c.value) what += " " + valueText(c.value);
    if (c.mlDetectionConfig) what += " (machine learning)";
    return what;
  }
  function checkType(b) {
    const c = b.criteria || {};
    if (c.statisticalThreshold) return "statistical";
    if (SET_OPS.includes(c.comparisonOperator)) return "set";
    return "static";
  }
  function tag(text, cls) { return h("span", { class: "tag " + (cls || text) }, text); }
  function stateTag(s) { return tag(STATES[s] || STATES.UNKNOWN, s || "UNKNOWN"); }
  function thingLink(name) { return h("a", { href: "#/thing/" + enc(name) }, name); }
  function profileLink(name) { return h("a", { href: "#/profile/" + enc(name) }, name); }
  function emptyRow(cols, text) { return h("tr", {}, h("td", { colspan: cols, class: "empty" }, text)); }
  function section(title, ...kids) { return h("section", { class: "panel" }, h("h2", {}, title), ...kids); }
  function loading() { return h("p", { class: "loading" }, "Loading…"); }
  function debounce(fn, wait) { let t = 0; return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), wait); }; }

  // ---------- session ----------
  // session is what GET /api/session said: whether the server asks for a
  // token, and the role of the one signed in with ("admin" or
  // "read-only"). Without tokens on the server, everyone is admin.
  const session = { required: false, role: "admin" };
  const READ_ONLY_NOTE = "Read-only access: sign in with an admin token to change this.";
  function canChange() { return session.role === "admin"; }
  let signedOut = () => {};
  // onSignedOut sets what to do when the API answers 401: show the sign-in.
  function onSignedOut(fn) { signedOut = fn; }

  // ---------- API ----------
  class APIError extends Error {
    constructor(status, type, message) { super(message); this.status = status; this.type = type; }
  }
  // api calls the API with the session cookie and the header that tells
  // the server the call comes from the dashboard (its cross-site check).
  async function api(path, opts) {
    const o = Object.assign({ headers: {}, credentials: "same-origin" }, opts || {});
    o.headers = Object.assign({}, o.headers, { "X-Vigil-Request": "1" });
    if (o.json !== undefined) { o.body = JSON.stringify(o.json); o.headers["Content-Type"] = "application/json"; delete o.json; }
    const r = await fetch("/api" + path, o);
    const text = await r.text();
    let data = {};
    try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { message: text }; }
    if (!r.ok) {
      let message = data.message || r.statusText;
      if (r.status === 401 && path !== "/session") signedOut("Your session has ended: sign in again.");
      if (r.status === 403 && !canChange()) message = "Not allowed with read-only access: " + message;
      throw new APIError(r.status, r.headers.get("x-amzn-ErrorType") || "", message);
    }
    return data;
  }
  // listAll follows nextToken to the end of a listing.
  async function listAll(path, key, limit) {
    const out = [];
    let token = "";
    const sep = path.includes("?") ? "&" : "?";
    do {
      const d = await api(path + sep + "maxResults=250" + (token ? "&nextToken=" + enc(token) : ""));
      out.push(...(d[key] || []));
      token = d.nextToken || "";
    } while (token && (!limit || out.length < limit));
    return out;
  }

  // clock is the service clock in ms, from /api/fleet-summary.
  let summary = null;
  async function refreshSummary() {
    summary = await api("/fleet-summary");
    document.getElementById("clock").textContent = C.fmtTime(ms(summary.now));
    return summary;
  }
  const now = () => (summary ? ms(summary.now) : Date.now());

  // fleetStatistics reads a metric's fleet summaries over [start, end),
  // in slices of at most 250 windows fetched in parallel.
  async function fleetStatistics(profile, metric, start, end, statistics) {
    const span = 250 * STEP;
    const calls = [];
    for (let s = start; s < end; s += span) {
      const e = Math.min(end, s + span);
      const path = `/metric-statistics?securityProfileName=${enc(profile)}&metricName=${enc(metric)}&period=300` +
        `&statistics=${enc(statistics.join(","))}&startTime=${secs(s)}&endTime=${secs(e)}`;
      calls.push(listAll(path, "metricStatistics"));
    }
    const pages = await Promise.all(calls);
    const points = pages.flat();
    const times = new Float64Array(points.length);
    const stats = {};
    for (const s of statistics) stats[s] = new Array(points.length);
    const devices = new Array(points.length);
    points.forEach((p, i) => {
      times[i] = ms(p.timestamp);
      devices[i] = p.deviceCount;
      for (const s of statistics) stats[s][i] = p.statistics[s];
    });
    return { times, stats, devices };
  }

  // ---------- live events ----------
  const listeners = new Set();
  let source = null;
  function connectStream() {
    const live = document.getElementById("live");
    const es = new EventSource("/api/violation-events/stream");
    source = es;
    es.onopen = () => { live.textContent = "live"; live.className = "live on"; };
    es.onerror = () => {
      live.textContent = "reconnecting"; live.className = "live off";
      // The browser retries by itself after a network error, but not after
      // an error status: ask why (a 401 shows the sign-in), then retry.
      if (es.readyState !== EventSource.CLOSED) return;
      setTimeout(() => {
        if (source !== es) return;
        api("/session").then(() => { if (source === es) connectStream(); },
          (x) => { if (x.status === 401) signedOut("Your session has ended: sign in again."); });
      }, 3000);
    };
    source.addEventListener("violation", (e) => {
      let ev;
      try { ev = JSON.parse(e.data); } catch (err) { return; }
      if (summary && ev.violationEventTime > summary.now) summary.now = ev.violationEventTime;
      for (const fn of listeners) fn(ev);
    });
    source.addEventListener("lost", () => { for (const fn of listeners) fn(null); });
  }
  // onLive registers a handler of live events for the current page.
  function onLive(fn) { listeners.add(fn); return fn; }

  // closeStream ends the event stream; streamOpen tells whether it runs.
  function closeStream() { if (source) { source.close(); source = null; } }
  function streamOpen() { return source !== null; }
  // clearLive forgets the live handlers of the page being left.
  function clearLive() { listeners.clear(); }
  function currentSummary() { return summary; }

  const pageState = { period: "14d", visible: new Set(STATS), thingPeriod: "24h", log: false };

  // ---------- violations ----------
  function verifyButton(v, after) {
    const allowed = canChange();
    return h("span", {}, stateTag(v.verificationState), " ",
      h("button", { type: "button", class: "small", "data-verify": v.violationId, disabled: !allowed, title: allowed ? null : READ_ONLY_NOTE,
        "aria-label": allowed ? null : "Set the verdict (" + READ_ONLY_NOTE + ")", onclick: () => openVerify(v, after) }, "Set"));
  }
  function eventsTable(events, after, withThing) {
    const body = h("tbody");
    if (!events.length) body.append(emptyRow(7, "No violation event."));
    for (const e of events) {
      body.append(h("tr", { "data-violation": e.violationId }, h("td", {}, fmtTime(e.violationEventTime)), h("td", {}, tag(e.violationEventType)),
        withThing ? h("td", {}, thingLink(e.thingName)) : null, h("td", {}, profileLink(e.securityProfileName)), h("td", {}, e.behavior.name),
        h("td", { class: "mono" }, valueText(e.metricValue) + (e.statisticalThreshold ? ` (threshold ${C.fmtNumber(e.statisticalThreshold.value)})` : "")),
        h("td", {}, verifyButton(e, after))));
    }
    return h("div", { class: "scroll" }, h("table", { class: "events" }, h("thead", {}, h("tr", {}, h("th", {}, "Time"), h("th", {}, "Event"), withThing ? h("th", {}, "Thing") : null,
      h("th", {}, "Profile"), h("th", {}, "Behavior"), h("th", {}, "Value"), h("th", {}, "Verdict"))), body));
  }
  function openVerify(v, after) {
    const dlg = document.getElementById("verify");
    const form = document.getElementById("verify-form");
    document.getElementById("verify-what").textContent = `${v.thingName} · ${v.behavior.name} · ${v.violationId}`;
    for (const r of form.elements.state) r.checked = r.value === (v.verificationState || "UNKNOWN");
    document.getElementById("verify-note").value = v.verificationStateDescription || "";
    const err = document.getElementById("verify-error");
    err.textContent = "";
    form.onsubmit = async (e) => {
      e.preventDefault();
      try {
        await api("/violations/verification-state/" + enc(v.violationId), { method: "POST", json: { verificationState: form.elements.state.value, verificationStateDescription: document.getElementById("verify-note").value } });
        dlg.close();
        after && after();
      } catch (x) { err.textContent = x.message; }
    };
    document.getElementById("verify-cancel").onclick = () => dlg.close();
    dlg.showModal();
  }

  window.Vigil = { C, STATS, PERIODS, STEP, SET_METRICS, AWS_METRICS, STATIC_OPS, SET_OPS, THRESHOLD_STATS, STATES, h, enc, ms, secs, fmtTime, valueText, numericValue, criteriaText, checkType, tag, stateTag, thingLink, profileLink, emptyRow, section, loading, debounce, APIError, api, listAll, session, canChange, onSignedOut, READ_ONLY_NOTE, refreshSummary, currentSummary, now, fleetStatistics, onLive, clearLive, connectStream, closeStream, streamOpen, pageState, verifyButton, eventsTable, openVerify, pages: {} };
})();
