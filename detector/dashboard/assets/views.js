// Vigil dashboard pages: the overview, the security profiles with the
// fleet's percentile bands, and the things with their raw values.
"use strict";
(function () {
  const { C, STATS, PERIODS, STEP, SET_METRICS, AWS_METRICS, STATIC_OPS, SET_OPS, THRESHOLD_STATS, STATES, h, enc, ms, secs, fmtTime, valueText, numericValue, criteriaText, checkType, tag, stateTag, thingLink, profileLink, emptyRow, section, loading, debounce, APIError, api, listAll, refreshSummary, currentSummary, now, fleetStatistics, onLive, clearLive, connectStream, closeStream, streamOpen, pageState, verifyButton, eventsTable, openVerify } = window.Vigil;

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
      const s = currentSummary();
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

  window.Vigil.pages.overview = overview;
  window.Vigil.pages.profiles = profiles;
  window.Vigil.pages.profilePage = profilePage;
  window.Vigil.pages.things = things;
  window.Vigil.pages.thingPage = thingPage;
})();
