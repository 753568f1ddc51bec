// Vigil dashboard page: active violations and their history, with filters
// and the operators' verdicts.
"use strict";
(function () {
  const { C, STATS, PERIODS, STEP, SET_METRICS, AWS_METRICS, STATIC_OPS, SET_OPS, THRESHOLD_STATS, STATES, h, enc, ms, secs, fmtTime, valueText, numericValue, criteriaText, checkType, tag, stateTag, thingLink, profileLink, emptyRow, section, loading, debounce, APIError, api, listAll, refreshSummary, currentSummary, now, fleetStatistics, onLive, clearLive, connectStream, closeStream, streamOpen, pageState, verifyButton, eventsTable, openVerify } = window.Vigil;

  async function violations(_, params) {
    const profilesList = await listAll("/security-profiles", "securityProfileIdentifiers");
    const described = await Promise.all(profilesList.map((p) => api("/security-profiles/" + enc(p.name))));
    const behaviorNames = [...new Set(described.flatMap((p) => (p.behaviors || []).map((b) => b.name)))].sort();
    const f = {
      profile: h("select", { id: "f-profile" }, h("option", { value: "" }, "All profiles"), profilesList.map((p) => h("option", { value: p.name }, p.name))),
      behavior: h("input", { id: "f-behavior", placeholder: "any", list: "behavior-names", autocomplete: "off" }),
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
      h("datalist", { id: "behavior-names" }, behaviorNames.map((n) => h("option", { value: n }))),
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

  window.Vigil.pages.violations = violations;
})();
