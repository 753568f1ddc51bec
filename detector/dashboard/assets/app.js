// Vigil dashboard: a single page over the HTTP API. Pages are chosen by the
// URL fragment; every datum comes from /api; violation events arrive live
// through the server-sent events of /api/violation-events/stream.
"use strict";
(function () {
  const C = window.VigilChart;
  const main = document.getElementById("main");
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

  // ---------- API ----------
  class APIError extends Error {
    constructor(status, type, message) { super(message); this.status = status; this.type = type; }
  }
  async function api(path, opts) {
    const o = Object.assign({ headers: {} }, opts || {});
    if (o.json !== undefined) { o.body = JSON.stringify(o.json); o.headers["Content-Type"] = "application/json"; delete o.json; }
    const r = await fetch("/api" + path, o);
    const text = await r.text();
    let data = {};
    try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { message: text }; }
    if (!r.ok) throw new APIError(r.status, r.headers.get("x-amzn-ErrorType") || "", data.message || r.statusText);
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
    source = new EventSource("/api/violation-events/stream");
    source.onopen = () => { live.textContent = "live"; live.className = "live on"; };
    source.onerror = () => { live.textContent = "reconnecting"; live.className = "live off"; };
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

  // ---------- router ----------
  const routes = [
    [/^$/, overview, "overview"],
    [/^profiles$/, profiles, "profiles"],
    [/^profile\/(.+)$/, profilePage, "profiles"],
    [/^things$/, things, "things"],
    [/^thing\/(.+)$/, thingPage, "things"],
    [/^violations$/, violations, "violations"],
    [/^editor(?:\/(.+))?$/, editor, "editor"],
  ];
  let renderSeq = 0;
  async function route() {
    const seq = ++renderSeq;
    listeners.clear();
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

  // ---------- overview ----------
  async function overview() {
    const [active, events] = await Promise.all([
      listAll("/active-violations", "activeViolations"),
      recentEvents(),
    ]);
    const cards = h("div", { class: "grid cards" });
    const byBehavior = h("tbody");
    const eventsBody = h("tbody");
    const view = h("div", {},
      h("h1", {}, "Overview"),
      h("p", { class: "sub" }, "The fleet now, and what the detector raised. Events appear as they happen."),
      cards,
      h("div", { class: "grid two" },
        section("Active violations by profile and behavior",
          h("table", { id: "active-by-behavior" }, h("thead", {}, h("tr", {}, h("th", {}, "Profile"), h("th", {}, "Behavior"), h("th", {}, "Metric"), h("th", { class: "num" }, "Things"))), byBehavior)),
        section("Latest violation events",
          h("div", { class: "scroll" }, h("table", { id: "latest-events" },
            h("thead", {}, h("tr", {}, h("th", {}, "Time"), h("th", {}, "Event"), h("th", {}, "Thing"), h("th", {}, "Behavior"), h("th", {}, "Value"))), eventsBody)))));
    let activeNow = active;
    const drawCards = () => {
      cards.textContent = "";
      const s = summary;
      const card = (n, label, cls, href) => h(href ? "a" : "div", { class: "card " + (cls || ""), href }, h("div", { class: "n" }, n), h("div", { class: "l" }, label));
      cards.append(
        card(s.thingCount, "Things known", "", "#/things"),
        card(s.reportingThingCount, `Reporting (last ${Math.round(s.reportingWindowSeconds / 60)} min)`, "", null),
        card(activeNow.length, "Active violations", activeNow.length ? "alert" : "", "#/violations"),
        card(new Set(activeNow.map((a) => a.thingName)).size, "Things in violation", activeNow.length ? "alert" : "", "#/violations"),
        card(s.securityProfileCount, "Security profiles", "", "#/profiles"),
        card(s.thingGroupCount, "Thing groups", "", null));
    };
    const drawActive = () => {
      byBehavior.textContent = "";
      const groups = new Map();
      for (const a of activeNow) {
        const k = a.securityProfileName + "\u0000" + a.behavior.name;
        if (!groups.has(k)) groups.set(k, { a, things: new Set() });
        groups.get(k).things.add(a.thingName);
      }
      if (!groups.size) byBehavior.append(emptyRow(4, "No active violation."));
      for (const { a, things } of [...groups.values()].sort((x, y) => y.things.size - x.things.size)) {
        byBehavior.append(h("tr", {},
          h("td", {}, profileLink(a.securityProfileName)),
          h("td", {}, h("a", { href: `#/violations?profile=${enc(a.securityProfileName)}&behavior=${enc(a.behavior.name)}` }, a.behavior.name)),
          h("td", { class: "mono" }, a.behavior.metric || ""),
          h("td", { class: "num" }, things.size)));
      }
    };
    const eventRow = (e, fresh) => h("tr", { class: fresh ? "fresh" : null, "data-violation": e.violationId },
      h("td", {}, fmtTime(e.violationEventTime)), h("td", {}, tag(e.violationEventType)),
      h("td", {}, thingLink(e.thingName)), h("td", {}, e.behavior.name), h("td", { class: "mono" }, valueText(e.metricValue)));
    if (!events.length) eventsBody.append(emptyRow(5, "No violation event in the last 24 hours."));
    for (const e of events) eventsBody.append(eventRow(e));
    drawCards();
    drawActive();
    const refresh = debounce(async () => {
      activeNow = await listAll("/active-violations", "activeViolations");
      await refreshSummary();
      drawCards();
      drawActive();
    }, 400);
    onLive((e) => {
      if (e) {
        const empty = eventsBody.querySelector(".empty");
        if (empty) empty.parentElement.remove();
        eventsBody.prepend(eventRow(e, true));
        while (eventsBody.children.length > 200) eventsBody.lastChild.remove();
      }
      refresh();
    });
    return view;
  }
  // recentEvents returns the latest 100 events of the last 24 hours,
  // newest first, reading back from now in growing slices so that a busy
  // day does not mean reading all of it.
  async function recentEvents() {
    const end = now() + 60e3;
    const out = [];
    let to = end;
    for (const span of [3600e3, 5 * 3600e3, 18 * 3600e3]) {
      const from = to - span;
      const ev = await listAll(`/violation-events?startTime=${secs(from)}&endTime=${secs(to)}`, "violationEvents");
      out.push(...ev.reverse());
      if (out.length >= 100) break;
      to = from;
    }
    return out.slice(0, 100);
  }

  // ---------- profiles ----------
  async function profiles() {
    const list = await listAll("/security-profiles", "securityProfileIdentifiers");
    const details = await Promise.all(list.map((p) => api("/security-profiles/" + enc(p.name))));
    const active = await listAll("/active-violations", "activeViolations");
    const body = h("tbody");
    for (const p of details) {
      const n = active.filter((a) => a.securityProfileName === p.securityProfileName).length;
      body.append(h("tr", {}, h("td", {}, profileLink(p.securityProfileName)), h("td", {}, p.securityProfileDescription || ""),
        h("td", { class: "num" }, (p.behaviors || []).length), h("td", { class: "num" }, n),
        h("td", {}, h("a", { href: "#/editor/" + enc(p.securityProfileName) }, "Edit"))));
    }
    if (!details.length) body.append(emptyRow(5, "No security profile yet."));
    return h("div", {}, h("h1", {}, "Security profiles"),
      h("p", { class: "sub" }, "Each profile's behaviors, charted against the fleet. ", h("a", { href: "#/editor" }, "Create a profile")),
      section("Profiles", h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Description"), h("th", { class: "num" }, "Behaviors"), h("th", { class: "num" }, "Active violations"), h("th", {}, ""))), body)));
  }

  // retainedNumeric lists a profile's numeric metrics: those of its
  // behaviors with a value or statistical check, and those it retains.
  function profileMetrics(p) {
    const out = [];
    for (const b of p.behaviors || []) if (b.metric && !SET_METRICS.includes(b.metric) && checkType(b) !== "set" && !out.includes(b.metric)) out.push(b.metric);
    for (const m of p.additionalMetricsToRetainV2 || []) if (!SET_METRICS.includes(m.metric) && !out.includes(m.metric)) out.push(m.metric);
    return out;
  }

  const pageState = { period: "14d", visible: new Set(STATS), thingPeriod: "24h", log: false };

  async function profilePage(name) {
    const [p, targets, active] = await Promise.all([
      api("/security-profiles/" + enc(name)),
      listAll(`/security-profiles/${enc(name)}/targets`, "securityProfileTargets"),
      listAll("/active-violations?securityProfileName=" + enc(name), "activeViolations"),
    ]);
    const behaviorsBody = h("tbody");
    for (const b of p.behaviors || []) {
      const c = b.criteria || {};
      behaviorsBody.append(h("tr", {}, h("td", {}, b.name), h("td", { class: "mono" }, b.metric || ""), h("td", {}, checkType(b)),
        h("td", {}, criteriaText(b)), h("td", { class: "num" }, c.durationSeconds || ""),
        h("td", { class: "num" }, `${c.consecutiveDatapointsToAlarm || 1} / ${c.consecutiveDatapointsToClear || 1}`),
        h("td", {}, b.suppressAlerts ? "yes" : "")));
    }
    const charts = h("div", {});
    const periodSeg = h("div", { class: "seg", role: "group", "aria-label": "Period" });
    for (const k of Object.keys(PERIODS)) {
      periodSeg.append(h("button", { type: "button", "aria-pressed": String(pageState.period === k), "data-period": k, onclick: () => { pageState.period = k; redraw(); } }, k));
    }
    const since = h("span", { class: "muted", id: "data-since" });
    const statSeg = h("div", { class: "seg", role: "group", "aria-label": "Statistics" });
    for (const s of STATS) {
      statSeg.append(h("button", {
        type: "button", "aria-pressed": String(pageState.visible.has(s)), "data-stat": s,
        onclick: (e) => { if (pageState.visible.has(s)) pageState.visible.delete(s); else pageState.visible.add(s); e.target.setAttribute("aria-pressed", String(pageState.visible.has(s))); drawAll(); },
      }, s));
    }
    const view = h("div", {},
      h("h1", {}, p.securityProfileName),
      h("p", { class: "sub" }, p.securityProfileDescription || "", " ", h("span", { class: "muted" }, `version ${p.version}`), " · ",
        h("a", { href: "#/editor/" + enc(name) }, "Edit"), " · ", h("a", { href: `#/violations?profile=${enc(name)}` }, "Violations")),
      section("Behaviors", h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Metric"), h("th", {}, "Check"), h("th", {}, "Criteria"), h("th", { class: "num" }, "Duration (s)"), h("th", { class: "num" }, "Datapoints to alarm / clear"), h("th", {}, "Suppressed"))), behaviorsBody)),
        h("p", { class: "muted" }, "Targets: ", targets.length ? targets.map((t, i) => [i ? ", " : "", h("span", { class: "mono" }, t.arn.replace(/^.*:/, ""))]) : "none: the profile watches no thing.")),
      h("div", { class: "toolbar" }, h("span", { class: "label" }, "Period"), periodSeg, since, h("span", { class: "label" }, "Statistics"), statSeg,
        h("label", { class: "check" }, h("input", { type: "checkbox", id: "log-scale", checked: pageState.log, onchange: (e) => { pageState.log = e.target.checked; drawAll(); } }), "Log scale"),
        h("label", { class: "check" }, h("input", { type: "checkbox", id: "utc", checked: C.settings.utc, onchange: (e) => { C.settings.utc = e.target.checked; drawAll(); } }), "UTC")),
      charts);
    const metrics = profileMetrics(p);
    const loaded = {};
    const drawn = [];
    async function load() {
      const end = Math.floor(now() / STEP) * STEP, start = end - PERIODS[pageState.period];
      const t0 = performance.now();
      await Promise.all(metrics.map(async (m) => {
        const extra = (p.behaviors || []).filter((b) => b.metric === m && b.criteria && b.criteria.statisticalThreshold).map((b) => b.criteria.statisticalThreshold.statistic);
        const statistics = [...new Set([...STATS, ...extra])];
        loaded[m] = Object.assign(await fleetStatistics(name, m, start, end, statistics), { start, end });
      }));
      // When the data begins within the period (a new install, a demo),
      // the charts start with it rather than with an empty stretch; all
      // charts keep one time axis.
      let first = Infinity;
      for (const m of metrics) if (loaded[m].times.length) first = Math.min(first, loaded[m].times[0]);
      const shown = first > start + 3600e3 && first < end ? Math.floor(first / 3600e3) * 3600e3 : start;
      for (const m of metrics) loaded[m].start = shown;
      since.textContent = shown > start ? `data since ${C.fmtTime(shown)}` : "";
      view.dataset.loadMs = String(Math.round(performance.now() - t0));
    }
    function drawAll() {
      const t0 = performance.now();
      for (const d of drawn) d();
      view.dataset.drawMs = String(Math.round(performance.now() - t0));
      // Milliseconds from the navigation to the drawn charts.
      view.dataset.readyAt = String(Math.round(performance.now()));
      view.dataset.ready = "true";
    }
    async function redraw() {
      for (const b of periodSeg.children) b.setAttribute("aria-pressed", String(b.dataset.period === pageState.period));
      view.dataset.ready = "false";
      await load();
      drawAll();
    }
    const sides = [];
    let activeNow = active;
    for (const m of metrics) {
      const behaviors = (p.behaviors || []).filter((b) => b.metric === m);
      const box = h("div", { class: "chart", "data-metric": m });
      const side = h("div", { class: "side", "data-violating": m });
      const fillSide = () => {
        const violating = activeNow.filter((a) => a.behavior.metric === m);
        side.textContent = "";
        side.append(h("h3", {}, `In violation (${new Set(violating.map((a) => a.thingName)).size})`),
          violating.length ? h("ul", {}, violating.map((a) => h("li", {}, thingLink(a.thingName), h("span", { class: "muted mono", title: a.behavior.name }, valueText(a.lastViolationValue))))) : h("p", { class: "empty" }, "None."));
      };
      fillSide();
      sides.push(fillSide);
      const tableBox = h("div", { class: "datatable" });
      const tableBtn = h("button", { type: "button", class: "small ghost", "aria-expanded": "false", onclick: () => toggleTable() }, "Show values as a table");
      const legend = h("div", { class: "legend" }, h("span", {}, h("i", { class: "sw-band" }), "percentile bands"), h("span", {}, h("i", { class: "sw-median" }), "p50"),
        behaviors.filter((b) => checkType(b) !== "set").length ? h("span", {}, h("i", { class: "sw-threshold" }), "thresholds") : null, tableBtn);
      charts.append(h("section", { class: "panel", "data-metric-panel": m },
        h("h2", {}, h("span", { class: "mono" }, m), h("span", { class: "muted" }, behaviors.length ? " · " + behaviors.map((b) => b.name).join(", ") : " · retained")),
        h("div", { class: "metric" }, h("div", {}, box, legend, tableBox), side)));
      const thresholdsOf = (d) => behaviors.flatMap((b) => {
        const c = b.criteria || {};
        if (c.statisticalThreshold) {
          const st = c.statisticalThreshold, f = st.factor == null ? 1 : st.factor;
          const less = (c.comparisonOperator || "").startsWith("less");
          const values = (d.stats[st.statistic] || []).map((v) => (v == null ? null : less ? v * f : v / f));
          return [{ label: `${b.name} (${st.statistic}${f !== 1 ? (less ? " × " : " ÷ ") + f : ""})`, values }];
        }
        const v = numericValue(c.value);
        return v == null ? [] : [{ label: `${b.name} (${C.fmtNumber(v)})`, value: v }];
      });
      drawn.push(() => {
        const d = loaded[m];
        C.bands(box, { times: d.times, step: STEP, stats: d.stats, devices: d.devices, visible: STATS.filter((s) => pageState.visible.has(s)),
          thresholds: thresholdsOf(d), start: d.start, end: d.end, log: pageState.log, label: `Fleet percentiles of ${m}` });
        if (tableBox.firstChild) fillTable();
      });
      function fillTable() {
        const d = loaded[m];
        const vis = STATS.filter((s) => pageState.visible.has(s));
        const rows = [];
        for (let i = d.times.length - 1; i >= 0; i--) {
          rows.push(h("tr", {}, h("td", {}, C.fmtTime(d.times[i])), vis.map((s) => h("td", { class: "num", "data-stat": s }, C.fmtNumber(d.stats[s][i]))), h("td", { class: "num" }, d.devices[i])));
        }
        tableBox.textContent = "";
        tableBox.append(h("div", { class: "scroll" }, h("table", { "data-values": m }, h("thead", {}, h("tr", {}, h("th", {}, "Window start"), vis.map((s) => h("th", { class: "num" }, s)), h("th", { class: "num" }, "Devices"))), h("tbody", {}, rows))));
      }
      function toggleTable() {
        const open = !!tableBox.firstChild;
        tableBtn.setAttribute("aria-expanded", String(!open));
        tableBtn.textContent = open ? "Show values as a table" : "Hide the table";
        if (open) tableBox.textContent = ""; else fillTable();
      }
    }
    if (!metrics.length) charts.append(section("Charts", h("p", { class: "empty" }, "This profile has no numeric metric to chart: its behaviors check sets (ports, addresses).")));
    await load();
    // Draw once the view is in the document, so that charts know their width.
    requestAnimationFrame(() => drawAll());
    const refreshSides = debounce(async () => {
      activeNow = await listAll("/active-violations?securityProfileName=" + enc(name), "activeViolations");
      sides.forEach((f) => f());
    }, 400);
    onLive((e) => { if (!e || e.securityProfileName === name) refreshSides(); });
    return view;
  }

  // ---------- things ----------
  async function things(_, params) {
    const [list, active] = await Promise.all([
      listAll("/things", "things"),
      listAll("/active-violations", "activeViolations"),
    ]);
    const bad = new Map();
    for (const a of active) bad.set(a.thingName, (bad.get(a.thingName) || 0) + 1);
    const body = h("tbody");
    const search = h("input", { type: "search", placeholder: "Filter by name or attribute", "aria-label": "Filter things", value: params.get("q") || "" });
    const onlyBad = h("input", { type: "checkbox" });
    const draw = () => {
      body.textContent = "";
      const q = search.value.trim().toLowerCase();
      let shown = 0;
      for (const t of list) {
        const attrs = Object.entries(t.attributes || {}).map(([k, v]) => `${k}=${v}`).join(" ");
        if (q && !(t.thingName.toLowerCase().includes(q) || attrs.toLowerCase().includes(q))) continue;
        if (onlyBad.checked && !bad.has(t.thingName)) continue;
        if (++shown > 500) break;
        body.append(h("tr", {}, h("td", {}, thingLink(t.thingName)), h("td", { class: "mono" }, attrs), h("td", { class: "num" }, bad.get(t.thingName) || "")));
      }
      if (!shown) body.append(emptyRow(3, "No thing matches."));
    };
    search.addEventListener("input", debounce(draw, 150));
    onlyBad.addEventListener("change", draw);
    draw();
    return h("div", {}, h("h1", {}, "Things"), h("p", { class: "sub" }, `${list.length} registered; the first 500 matches are listed.`),
      h("div", { class: "toolbar" }, search, h("label", { class: "check" }, onlyBad, "Only things in violation")),
      section("Things", h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Attributes"), h("th", { class: "num" }, "Active violations"))), body))));
  }

  async function thingPage(name) {
    const [t, profilesList] = await Promise.all([
      api("/things/" + enc(name)),
      listAll("/security-profiles", "securityProfileIdentifiers"),
    ]);
    const allProfiles = await Promise.all(profilesList.map((p) => api("/security-profiles/" + enc(p.name))));
    const metrics = [];
    const behaviorsOf = {};
    for (const p of allProfiles) {
      for (const b of p.behaviors || []) {
        if (b.metric && !metrics.includes(b.metric)) metrics.push(b.metric);
        (behaviorsOf[b.metric] = behaviorsOf[b.metric] || []).push(Object.assign({ profile: p.securityProfileName }, b));
      }
      for (const m of p.additionalMetricsToRetainV2 || []) if (!metrics.includes(m.metric)) metrics.push(m.metric);
    }
    const numeric = metrics.filter((m) => !SET_METRICS.includes(m) && !(behaviorsOf[m] || []).some((b) => checkType(b) === "set"));
    const sets = metrics.filter((m) => !numeric.includes(m));
    const periodSeg = h("div", { class: "seg", role: "group", "aria-label": "Period" });
    for (const k of Object.keys(PERIODS)) periodSeg.append(h("button", { type: "button", "data-period": k, "aria-pressed": String(pageState.thingPeriod === k), onclick: () => { pageState.thingPeriod = k; reload(); } }, k));
    const activeBox = h("div", {});
    const historyBox = h("div", {});
    const chartsBox = h("div", {});
    const attrs = Object.entries(t.attributes || {});
    const view = h("div", { "data-thing": name },
      h("h1", {}, name),
      h("p", { class: "sub mono" }, t.thingArn || ""),
      h("div", { class: "grid two" },
        section("Groups and attributes", h("dl", { class: "kv" },
          h("dt", {}, "Groups"), h("dd", {}, (t.thingGroups || []).length ? h("span", { class: "pill-list" }, t.thingGroups.map((g) => tag(g, "group"))) : "none"),
          attrs.map(([k, v]) => [h("dt", {}, k), h("dd", { class: "mono" }, v)]),
          h("dt", {}, "Version"), h("dd", {}, t.version))),
        section("Active violations", activeBox)),
      h("div", { class: "toolbar" }, h("span", { class: "label" }, "Period"), periodSeg),
      chartsBox,
      section("Violation history", historyBox));
    async function reload() {
      for (const b of periodSeg.children) b.setAttribute("aria-pressed", String(b.dataset.period === pageState.thingPeriod));
      await refreshSummary();
      const end = now() + STEP, start = end - PERIODS[pageState.thingPeriod];
      const [active, events, values] = await Promise.all([
        listAll("/active-violations?thingName=" + enc(name), "activeViolations"),
        listAll(`/violation-events?thingName=${enc(name)}&startTime=${secs(start - 14 * 86400e3)}&endTime=${secs(end)}`, "violationEvents"),
        Promise.all(metrics.map((m) => listAll(`/metric-values?thingName=${enc(name)}&metricName=${enc(m)}&startTime=${secs(start)}&endTime=${secs(end)}`, "metricDatumList"))),
      ]);
      const byMetric = {};
      metrics.forEach((m, i) => { byMetric[m] = values[i]; });
      drawActive(active);
      drawHistory(events);
      chartsBox.textContent = "";
      const periods = violationPeriods(events, active);
      const jobs = [];
      for (const m of numeric) {
        const box = h("div", { class: "chart", "data-metric": m });
        const bs = behaviorsOf[m] || [];
        chartsBox.append(h("section", { class: "panel" }, h("h2", {}, h("span", { class: "mono" }, m), h("span", { class: "muted" }, bs.length ? " · " + bs.map((b) => b.name).join(", ") : "")), box,
          h("div", { class: "legend" }, h("span", {}, h("i", { class: "sw-median" }), "value"), h("span", {}, h("i", { class: "sw-shade" }), "in violation"), h("span", {}, h("i", { class: "sw-threshold" }), "static threshold"))));
        const pts = byMetric[m];
        const shades = periods.filter((p) => p.metric === m).map((p) => ({ start: p.start, end: p.end, label: `${p.behavior} (${p.profile})` }));
        const thresholds = bs.filter((b) => checkType(b) === "static" && numericValue(b.criteria.value) != null).map((b) => ({ label: `${b.name} (${C.fmtNumber(numericValue(b.criteria.value))})`, value: numericValue(b.criteria.value) }));
        jobs.push(() => C.line(box, { times: pts.map((p) => ms(p.timestamp)), values: pts.map((p) => numericValue(p.value)), step: STEP, shades, thresholds, start, end, label: `${m} of ${name}` }));
      }
      for (const m of sets) {
        const box = h("div", { class: "chart timeline", "data-metric": m });
        chartsBox.append(h("section", { class: "panel" }, h("h2", {}, h("span", { class: "mono" }, m), h("span", { class: "muted" }, " over time")), box,
          h("div", { class: "legend" }, h("span", {}, h("i", { class: "sw-band" }), "present"), h("span", {}, h("i", { class: "sw-unexpected" }), "outside the behavior's set"), h("span", {}, h("i", { class: "sw-shade" }), "in violation"))));
        const rows = setRows(byMetric[m], behaviorsOf[m] || [], end);
        const shades = periods.filter((p) => p.metric === m).map((p) => ({ start: p.start, end: p.end, label: `${p.behavior} (${p.profile})` }));
        jobs.push(() => C.timeline(box, { rows, shades, start, end, label: `${m} of ${name}` }));
      }
      if (!metrics.length) chartsBox.append(section("Metrics", h("p", { class: "empty" }, "No profile retains a metric of this thing.")));
      requestAnimationFrame(() => { jobs.forEach((j) => j()); view.dataset.ready = "true"; });
    }
    function drawActive(active) {
      activeBox.textContent = "";
      if (!active.length) { activeBox.append(h("p", { class: "empty" }, "None.")); return; }
      activeBox.append(h("table", { "data-active": name }, h("thead", {}, h("tr", {}, h("th", {}, "Behavior"), h("th", {}, "Profile"), h("th", {}, "Since"), h("th", {}, "Last value"), h("th", {}, "Verdict"))),
        h("tbody", {}, active.map((a) => h("tr", { "data-violation": a.violationId }, h("td", {}, a.behavior.name), h("td", {}, profileLink(a.securityProfileName)),
          h("td", {}, fmtTime(a.violationStartTime)), h("td", { class: "mono" }, valueText(a.lastViolationValue)),
          h("td", {}, verifyButton(a, () => reload())))))));
    }
    function drawHistory(events) {
      historyBox.textContent = "";
      historyBox.append(eventsTable(events.slice().reverse(), () => reload(), false));
    }
    await reload();
    onLive((e) => { if (!e || e.thingName === name) debounce(reload, 300)(); });
    return view;
  }

  // violationPeriods turns events into [start, end] periods per violation;
  // an active one lasts until now.
  function violationPeriods(events, active) {
    const byID = new Map();
    for (const e of events) {
      const p = byID.get(e.violationId) || { start: ms(e.violationStartTime || e.violationEventTime), end: null, metric: e.behavior.metric, behavior: e.behavior.name, profile: e.securityProfileName };
      if (e.violationEventType !== "in-alarm") p.end = ms(e.violationEventTime);
      byID.set(e.violationId, p);
    }
    for (const a of active) {
      if (!byID.has(a.violationId)) byID.set(a.violationId, { start: ms(a.violationStartTime), end: null, metric: a.behavior.metric, behavior: a.behavior.name, profile: a.securityProfileName });
    }
    const end = now() + STEP;
    return [...byID.values()].map((p) => Object.assign(p, { end: p.end == null ? end : p.end }));
  }

  // setRows turns set values over time into one row per member, present
  // from a datapoint to the next one.
  function setRows(points, behaviors, end) {
    const rows = new Map();
    const allowed = behaviors.filter((b) => b.criteria && b.criteria.value);
    const unexpected = (m) => allowed.some((b) => {
      const c = b.criteria, v = c.value, inSet = !c.comparisonOperator.startsWith("not-");
      let member;
      if (v.ports) member = v.ports.includes(Number(m));
      else if (v.cidrs) member = v.cidrs.some((cidr) => inCIDR(m, cidr));
      else if (v.strings) member = v.strings.includes(m);
      else return false;
      return inSet ? !member : member;
    });
    points.forEach((p, i) => {
      const t = ms(p.timestamp);
      const next = i + 1 < points.length ? ms(points[i + 1].timestamp) : Math.min(end, t + STEP);
      const v = p.value || {};
      for (const m of (v.ports || v.cidrs || v.strings || v.numbers || []).map(String)) {
        if (!rows.has(m)) rows.set(m, { label: m, segments: [], unexpected: unexpected(m) });
        const segs = rows.get(m).segments;
        if (segs.length && segs[segs.length - 1][1] >= t) segs[segs.length - 1][1] = next; else segs.push([t, next]);
      }
    });
    return [...rows.values()].sort((a, b) => (b.unexpected - a.unexpected) || a.label.localeCompare(b.label, undefined, { numeric: true }));
  }
  function inCIDR(addr, cidr) {
    const ip = (s) => s.split(".").reduce((a, o) => a * 256 + Number(o), 0);
    const [net, bits] = cidr.split("/");
    const a = addr.split("/")[0];
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(a) || !/^\d+\.\d+\.\d+\.\d+$/.test(net)) return a === net;
    const b = bits == null ? 32 : Number(bits);
    const size = Math.pow(2, 32 - b);
    return Math.floor(ip(a) / size) === Math.floor(ip(net) / size);
  }

  // ---------- violations ----------
  function verifyButton(v, after) {
    return h("span", {}, stateTag(v.verificationState), " ",
      h("button", { type: "button", class: "small", "data-verify": v.violationId, onclick: () => openVerify(v, after) }, "Set"));
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

  async function violations(_, params) {
    const profilesList = await listAll("/security-profiles", "securityProfileIdentifiers");
    const f = {
      profile: h("select", { id: "f-profile" }, h("option", { value: "" }, "All profiles"), profilesList.map((p) => h("option", { value: p.name }, p.name))),
      behavior: h("input", { id: "f-behavior", placeholder: "any" }),
      thing: h("input", { id: "f-thing", placeholder: "any" }),
      type: h("select", { id: "f-type" }, h("option", { value: "" }, "Any"), h("option", { value: "STATIC" }, "Static"), h("option", { value: "STATISTICAL" }, "Statistical")),
      state: h("select", { id: "f-state" }, h("option", { value: "" }, "Any"), Object.entries(STATES).map(([k, v]) => h("option", { value: k }, v))),
      period: h("select", { id: "f-period" }, Object.keys(PERIODS).map((k) => h("option", { value: k }, k))),
    };
    f.profile.value = params.get("profile") || "";
    f.behavior.value = params.get("behavior") || "";
    f.thing.value = params.get("thing") || "";
    f.period.value = params.get("period") || "24h";
    const activeBox = h("div", {}), historyBox = h("div", {});
    const field = (label, input) => h("div", { class: "field" }, h("label", { for: input.id }, label), input);
    const view = h("div", {}, h("h1", {}, "Violations"), h("p", { class: "sub" }, "Active violations and the history, with the operators' verdicts."),
      section("Filters", h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); load(); } },
        field("Profile", f.profile), field("Behavior", f.behavior), field("Thing", f.thing), field("Check type", f.type), field("Verdict", f.state), field("Time", f.period),
        h("div", {}, h("button", { type: "submit", class: "primary" }, "Apply")))),
      section("Active", activeBox), section("History", historyBox));
    for (const k of ["profile", "type", "state", "period"]) f[k].addEventListener("change", () => load());
    async function load() {
      await refreshSummary();
      const q = new URLSearchParams();
      if (f.profile.value) q.set("securityProfileName", f.profile.value);
      if (f.thing.value.trim()) q.set("thingName", f.thing.value.trim());
      if (f.type.value) q.set("behaviorCriteriaType", f.type.value);
      if (f.state.value) q.set("verificationState", f.state.value);
      const end = now() + 60e3, start = end - PERIODS[f.period.value];
      const behavior = f.behavior.value.trim();
      const keep = (v) => !behavior || v.behavior.name === behavior;
      const [active, events] = await Promise.all([
        listAll("/active-violations?" + q, "activeViolations"),
        listAll(`/violation-events?${q}&startTime=${secs(start)}&endTime=${secs(end)}`, "violationEvents", 10000),
      ]);
      const body = h("tbody");
      const list = active.filter(keep);
      if (!list.length) body.append(emptyRow(7, "No active violation matches."));
      for (const a of list) {
        body.append(h("tr", { "data-violation": a.violationId }, h("td", {}, thingLink(a.thingName)), h("td", {}, profileLink(a.securityProfileName)), h("td", {}, a.behavior.name),
          h("td", { class: "mono" }, a.behavior.metric || ""), h("td", { class: "mono" }, valueText(a.lastViolationValue)), h("td", {}, fmtTime(a.violationStartTime)), h("td", {}, verifyButton(a, load))));
      }
      activeBox.textContent = "";
      activeBox.append(h("div", { class: "scroll" }, h("table", { id: "active-table" }, h("thead", {}, h("tr", {}, h("th", {}, "Thing"), h("th", {}, "Profile"), h("th", {}, "Behavior"), h("th", {}, "Metric"), h("th", {}, "Last value"), h("th", {}, "Since"), h("th", {}, "Verdict"))), body)));
      historyBox.textContent = "";
      const shown = events.filter(keep).reverse();
      historyBox.append(h("p", { class: "muted" }, `${shown.length} events, newest first.`), eventsTable(shown.slice(0, 1000), load, true));
    }
    await load();
    onLive(debounce(() => load(), 500));
    return view;
  }

  // ---------- editor ----------
  async function editor(name) {
    const [groups, customMetrics] = await Promise.all([
      listAll("/thing-groups", "thingGroups"),
      listAll("/custom-metrics", "metricNames").catch(() => []),
    ]);
    let profile = null, targets = [];
    if (name) {
      [profile, targets] = await Promise.all([api("/security-profiles/" + enc(name)), listAll(`/security-profiles/${enc(name)}/targets`, "securityProfileTargets")]);
    }
    const metricList = h("datalist", { id: "metric-names" }, [...AWS_METRICS, ...customMetrics].map((m) => h("option", { value: m })));
    const form = h("form", { id: "profile-form", novalidate: true });
    const notice = h("div", { role: "status" });
    const formErrors = h("div", { class: "form-errors", role: "alert", id: "form-errors" });
    const behaviorsBox = h("div", { id: "behaviors" });
    const fieldBox = (path, label, input, hint) => h("div", { class: "field", "data-path": path }, h("label", { for: input.id }, label), input,
      hint ? h("p", { class: "muted", text: hint }) : null, h("p", { class: "field-error", "data-error-for": path }));
    let uid = 0;
    const nameInput = h("input", { id: "p-name", name: "securityProfileName", required: true, autocomplete: "off" });
    const descInput = h("input", { id: "p-desc", name: "securityProfileDescription" });
    const retainInput = h("input", { id: "p-retain", placeholder: "aws:all-bytes-in, aws:all-packets-in", list: "metric-names" });
    const targetBox = h("fieldset", {}, h("legend", {}, "Targets"),
      h("label", { class: "check" }, h("input", { type: "checkbox", value: "all/things", "data-target": "all/things" }), "All things"),
      groups.map((g) => h("label", { class: "check" }, h("input", { type: "checkbox", value: "thinggroup/" + g.groupName, "data-target": "thinggroup/" + g.groupName }), "Group ", h("span", { class: "mono" }, g.groupName))));

    function behaviorRow(b) {
      const id = ++uid;
      const c = (b && b.criteria) || {};
      const type = b ? checkType(b) : "static";
      const input = (key, attrs) => h("input", Object.assign({ id: `b${id}-${key}`, "data-key": key }, attrs || {}));
      const sel = (key, options) => h("select", { id: `b${id}-${key}`, "data-key": key }, options.map(([v, l]) => h("option", { value: v }, l)));
      const el = {
        name: input("name", { value: (b && b.name) || "", autocomplete: "off" }),
        metric: input("metric", { value: (b && b.metric) || "", list: "metric-names", autocomplete: "off" }),
        type: sel("type", [["static", "Static value"], ["statistical", "Statistical (fleet percentile)"], ["set", "Set (ports, addresses)"]]),
        operator: sel("operator", []),
        value: input("value", { placeholder: "e.g. 17500, or 22, 8080" }),
        statistic: sel("statistic", THRESHOLD_STATS.map((s) => [s, s])),
        factor: input("factor", { type: "number", step: "any", min: "0", placeholder: "1" }),
        duration: input("duration", { type: "number", min: "0", step: "1", placeholder: "300" }),
        toAlarm: input("toAlarm", { type: "number", min: "1", step: "1", value: c.consecutiveDatapointsToAlarm || 1 }),
        toClear: input("toClear", { type: "number", min: "1", step: "1", value: c.consecutiveDatapointsToClear || 1 }),
        suppress: h("input", { type: "checkbox", id: `b${id}-suppress`, "data-key": "suppress" }),
      };
      el.type.value = type;
      el.suppress.checked = !!(b && b.suppressAlerts);
      if (c.durationSeconds != null) el.duration.value = c.durationSeconds;
      if (c.statisticalThreshold) {
        el.statistic.value = c.statisticalThreshold.statistic || "p90";
        if (c.statisticalThreshold.factor != null) el.factor.value = c.statisticalThreshold.factor;
      } else el.statistic.value = "p90";
      if (c.value) {
        const n = [c.value.count, c.value.number].find((x) => x != null);
        el.value.value = n != null ? String(n) : (c.value.ports || c.value.cidrs || c.value.strings || c.value.numbers || []).join(", ");
      }
      const row = h("fieldset", { class: "behavior", "data-behavior": "" });
      const fields = {
        value: fieldBox("criteria.value", "Value", el.value),
        statistic: fieldBox("criteria.statisticalThreshold.statistic", "Statistic", el.statistic),
        factor: fieldBox("criteria.statisticalThreshold.factor", "Factor", el.factor),
        duration: fieldBox("criteria.durationSeconds", "Duration (seconds)", el.duration),
      };
      const syncType = (keepOp) => {
        const t = el.type.value;
        const ops = t === "set" ? SET_OPS : STATIC_OPS;
        const current = keepOp || el.operator.value;
        el.operator.textContent = "";
        for (const o of ops) el.operator.append(h("option", { value: o }, o));
        el.operator.value = ops.includes(current) ? current : ops[t === "set" ? 0 : 1];
        fields.value.hidden = t === "statistical";
        fields.statistic.hidden = fields.factor.hidden = t !== "statistical";
        el.value.placeholder = t === "set" ? "22, 8080  or  10.0.0.0/8" : "17500";
      };
      el.type.addEventListener("change", () => { syncType(); changed(); });
      syncType(c.comparisonOperator);
      row.append(
        h("div", { class: "behavior-head" }, h("legend", {}, "Behavior"), h("button", { type: "button", class: "small danger", onclick: () => { row.remove(); changed(); } }, "Remove")),
        h("div", { class: "behavior-grid" },
          fieldBox("name", "Name", el.name), fieldBox("metric", "Metric", el.metric), fieldBox("type", "Check", el.type),
          fieldBox("criteria.comparisonOperator", "Operator", el.operator), fields.value, fields.statistic, fields.factor, fields.duration,
          fieldBox("criteria.consecutiveDatapointsToAlarm", "Datapoints to alarm", el.toAlarm),
          fieldBox("criteria.consecutiveDatapointsToClear", "Datapoints to clear", el.toClear),
          h("div", { class: "field", "data-path": "suppressAlerts" }, h("label", {}, "Alerts"), h("label", { class: "check" }, el.suppress, "Suppress alerts"), h("p", { class: "field-error", "data-error-for": "suppressAlerts" }))),
        h("p", { class: "field-error", "data-error-for": "" }));
      row._read = () => readBehavior(el);
      return row;
    }
    function readBehavior(el) {
      const b = { name: el.name.value.trim(), metric: el.metric.value.trim(), criteria: { comparisonOperator: el.operator.value } };
      const c = b.criteria;
      const t = el.type.value;
      // A number field that is not a number goes to the API as typed, so
      // that its error names the field.
      const num = (s) => (s.trim() === "" ? undefined : isNaN(Number(s)) ? s.trim() : Number(s));
      if (t === "statistical") {
        c.statisticalThreshold = { statistic: el.statistic.value };
        const f = num(el.factor.value);
        if (f !== undefined) c.statisticalThreshold.factor = f;
      } else if (el.value.value.trim() !== "") {
        const raw = el.value.value.trim();
        if (t === "set") {
          const items = raw.split(/[\s,]+/).filter(Boolean);
          if (c.comparisonOperator.includes("port")) c.value = { ports: items.map(Number) };
          else if (c.comparisonOperator.includes("cidr")) c.value = { cidrs: items };
          else c.value = { strings: items };
        } else if (b.metric.startsWith("aws:")) c.value = { count: num(raw) };
        else c.value = { number: num(raw) };
      }
      const d = num(el.duration.value);
      if (d !== undefined) c.durationSeconds = d;
      c.consecutiveDatapointsToAlarm = num(el.toAlarm.value);
      c.consecutiveDatapointsToClear = num(el.toClear.value);
      if (el.suppress.checked) b.suppressAlerts = true;
      return b;
    }
    function fill(p) {
      nameInput.value = p.securityProfileName || "";
      descInput.value = p.securityProfileDescription || "";
      retainInput.value = (p.additionalMetricsToRetainV2 || []).map((m) => m.metric).join(", ");
      behaviorsBox.textContent = "";
      for (const b of p.behaviors || []) behaviorsBox.append(behaviorRow(b));
      form._extra = { alertTargets: p.alertTargets, tags: p.tags };
    }
    function read() {
      const p = { securityProfileName: nameInput.value.trim(), securityProfileDescription: descInput.value, behaviors: [...behaviorsBox.children].map((r) => r._read()) };
      const retain = retainInput.value.split(/[\s,]+/).filter(Boolean);
      if (retain.length) p.additionalMetricsToRetainV2 = retain.map((m) => ({ metric: m }));
      const extra = form._extra || {};
      if (extra.alertTargets) p.alertTargets = extra.alertTargets;
      if (extra.tags && !profile) p.tags = extra.tags;
      return p;
    }
    function selectedTargets() { return [...targetBox.querySelectorAll("input[data-target]")].filter((i) => i.checked).map((i) => i.value); }

    // showErrors puts each "path: message" next to the field at fault; a
    // message without a known field goes above the form.
    function clearErrors() {
      for (const e of form.querySelectorAll("[data-error-for]")) e.textContent = "";
      for (const e of form.querySelectorAll(".field.invalid")) { e.classList.remove("invalid"); const i = e.querySelector("input,select"); if (i) i.removeAttribute("aria-invalid"); }
      formErrors.textContent = "";
    }
    function showErrors(messages) {
      let first = null;
      for (const msg of messages) {
        const target = placeError(msg);
        if (target) { first = first || target; continue; }
        formErrors.append(h("p", {}, msg));
      }
      if (first) { const i = first.querySelector("input,select"); if (i) i.focus(); }
    }
    function placeError(msg) {
      // "behaviors[2](name).criteria.value: ...": the index names the row;
      // the behavior's name in parentheses is for people.
      const lead = /^(?:unknown fields? in request body: )?/;
      let path;
      const bmsg = msg.replace(lead, "").match(/^behaviors\[(\d+)\](?:\(.*?\))?((?:\.[A-Za-z]\w*(?:\[\d+\])?)*)(?::|,|$)/);
      if (bmsg) path = `behaviors[${bmsg[1]}]${bmsg[2]}`;
      else {
        const m = msg.replace(lead, "").match(/^([A-Za-z]\w*(?:\[\d+\])?(?:\.[A-Za-z]\w*(?:\[\d+\])?)*)(?::|,|$)/);
        if (!m) return null;
        path = m[1];
      }
      const bm = path.match(/^behaviors\[(\d+)\](?:\.(.*))?$/);
      let scope = form, rest = path;
      if (bm) {
        scope = behaviorsBox.children[Number(bm[1])];
        if (!scope) return null;
        rest = bm[2] || "";
      }
      // The longest field path that is a prefix of the error's path.
      let best = null, bestLen = -1;
      for (const f of scope.querySelectorAll(":scope [data-path]")) {
        if (bm == null && f.closest("[data-behavior]")) continue;
        const p = f.dataset.path;
        if (f.hidden) continue;
        if ((rest === p || rest.startsWith(p + ".") || rest.startsWith(p + "[")) && p.length > bestLen) { best = f; bestLen = p.length; }
      }
      if (!best && rest.startsWith("criteria.statisticalThreshold")) best = scope.querySelector('[data-path="criteria.statisticalThreshold.statistic"]');
      if (!best && rest.startsWith("criteria.value")) best = scope.querySelector('[data-path="criteria.value"]');
      if (!best && rest.startsWith("criteria")) best = scope.querySelector('[data-path="criteria.comparisonOperator"]');
      if (!best) {
        if (bm) { const e = scope.querySelector(':scope > [data-error-for=""]'); e.textContent += (e.textContent ? " " : "") + msg; return scope; }
        return null;
      }
      best.classList.add("invalid");
      const i = best.querySelector("input,select");
      if (i) i.setAttribute("aria-invalid", "true");
      const slot = best.querySelector("[data-error-for]");
      slot.textContent += (slot.textContent ? " " : "") + msg.replace(/^(?:unknown fields? in request body: )?/, "");
      return best;
    }
    const splitMessages = (message) => message.split(/; (?=[A-Za-z]\w*(?:\[\d+\])?(?:\(.*?\))?(?:\.[A-Za-z]\w*(?:\[\d+\])?)*: )/);

    async function validate() {
      clearErrors();
      const p = read();
      try {
        const r = await api("/security-profile-behaviors/validate", { method: "POST", json: { behaviors: p.behaviors } });
        showErrors((r.validationErrors || []).map((e) => e.errorMessage));
        return r.valid;
      } catch (x) { showErrors(splitMessages(x.message)); return false; }
    }
    const changed = debounce(() => { if (behaviorsBox.children.length) validate(); }, 600);
    form.addEventListener("input", changed);

    async function save(e) {
      e.preventDefault();
      clearErrors();
      notice.textContent = "";
      const p = read();
      try {
        let saved;
        if (profile) {
          const body = Object.assign({}, p);
          delete body.securityProfileName;
          if (!body.additionalMetricsToRetainV2) body.deleteAdditionalMetricsToRetain = true;
          saved = await api(`/security-profiles/${enc(profile.securityProfileName)}?expectedVersion=${profile.version}`, { method: "PATCH", json: body });
        } else {
          saved = await api("/security-profiles/" + enc(p.securityProfileName || "-"), { method: "POST", json: p });
        }
        const name = p.securityProfileName || profile.securityProfileName;
        const want = selectedTargets(), had = targets.map((t) => t.arn.replace(/^.*:/, ""));
        for (const t of want) if (!had.includes(t)) await api(`/security-profiles/${enc(name)}/targets?securityProfileTargetArn=${enc(t)}`, { method: "PUT" });
        for (const t of had) if (!want.includes(t)) await api(`/security-profiles/${enc(name)}/targets?securityProfileTargetArn=${enc(t)}`, { method: "DELETE" });
        profile = await api("/security-profiles/" + enc(name));
        targets = await listAll(`/security-profiles/${enc(name)}/targets`, "securityProfileTargets");
        notice.className = "notice";
        notice.textContent = `Saved ${name}, version ${profile.version || (saved && saved.version)}.`;
        if (location.hash !== "#/editor/" + enc(name)) history.replaceState(null, "", "#/editor/" + enc(name));
        nameInput.disabled = true;
      } catch (x) {
        if (x.status === 400) showErrors(splitMessages(x.message));
        else { notice.className = "notice error"; notice.textContent = x.message; }
        if (x.type === "VersionConflictException") notice.textContent += " Reload the page to edit the latest version.";
      }
    }
    function exportJSON() {
      const p = read();
      const blob = new Blob([JSON.stringify(p, null, 2) + "\n"], { type: "application/json" });
      const a = h("a", { href: URL.createObjectURL(blob), download: (p.securityProfileName || "profile") + ".json" });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    }
    const importText = h("textarea", { id: "import-json", rows: "6", placeholder: "Paste the JSON of an AWS CLI create-security-profile input file" });
    const importError = h("p", { class: "field-error", "data-error-for": "import" });
    function importJSON(text) {
      importError.textContent = "";
      let p;
      try { p = JSON.parse(text); } catch (x) { importError.textContent = "Not valid JSON: " + x.message; return; }
      if (!p || typeof p !== "object" || Array.isArray(p)) { importError.textContent = "Not a security profile: want a JSON object with behaviors."; return; }
      if (profile) p.securityProfileName = profile.securityProfileName;
      fill(p);
      validate();
    }
    const fileInput = h("input", { type: "file", accept: "application/json,.json", id: "import-file", onchange: async (e) => { const f = e.target.files[0]; if (f) importJSON(await f.text()); } });

    form.append(
      notice, formErrors,
      h("div", { class: "behavior-grid" },
        fieldBox("securityProfileName", "Profile name", nameInput), fieldBox("securityProfileDescription", "Description", descInput),
        fieldBox("additionalMetricsToRetainV2", "Also retain metrics", retainInput, "Kept for the charts, not checked.")),
      h("h2", {}, "Behaviors"), behaviorsBox,
      h("button", { type: "button", id: "add-behavior", onclick: () => { behaviorsBox.append(behaviorRow(null)); behaviorsBox.lastChild.querySelector("input").focus(); } }, "Add behavior"),
      h("div", { class: "field", "data-path": "behaviors" }, h("p", { class: "field-error", "data-error-for": "behaviors" })),
      targetBox,
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => validate() }, "Validate"),
        h("button", { type: "button", onclick: exportJSON }, "Export JSON"),
        h("button", { type: "submit", class: "primary", id: "save" }, profile ? "Save changes" : "Create profile")));
    form.addEventListener("submit", save);
    if (profile) {
      fill(profile);
      nameInput.disabled = true;
      const had = targets.map((t) => t.arn.replace(/^.*:/, ""));
      for (const i of targetBox.querySelectorAll("input[data-target]")) i.checked = had.includes(i.value);
    } else {
      fill({ behaviors: [] });
      behaviorsBox.append(behaviorRow(null));
    }
    const profilesList = await listAll("/security-profiles", "securityProfileIdentifiers");
    const pick = h("select", { id: "pick-profile", "aria-label": "Profile to edit", onchange: (e) => { location.hash = e.target.value ? "#/editor/" + enc(e.target.value) : "#/editor"; } },
      h("option", { value: "" }, "New profile"), profilesList.map((p) => h("option", { value: p.name, selected: p.name === name }, p.name)));
    return h("div", {}, metricList,
      h("h1", {}, profile ? "Edit " + profile.securityProfileName : "New security profile"),
      h("p", { class: "sub" }, "Behaviors are checked by the API as you type; every problem is shown beside its field. ", pick),
      h("section", { class: "panel" }, form),
      section("Import AWS JSON", importText, importError, h("div", { class: "actions" }, fileInput, h("button", { type: "button", onclick: () => importJSON(importText.value) }, "Import"))));
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
  window.addEventListener("pagehide", () => { if (source) { source.close(); source = null; } });
  window.addEventListener("pageshow", (e) => { if (e.persisted && !source) { connectStream(); route(); } });
  window.addEventListener("hashchange", () => { route(); main.focus({ preventScroll: true }); });
  route();
})();
