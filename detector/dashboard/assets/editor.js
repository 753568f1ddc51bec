// Vigil dashboard page: the security profile editor, validated through the
// API with each error beside its field, and AWS JSON import and export.
"use strict";
(function () {
  const { C, STATS, PERIODS, STEP, SET_METRICS, AWS_METRICS, STATIC_OPS, SET_OPS, THRESHOLD_STATS, STATES, h, enc, ms, secs, fmtTime, valueText, numericValue, criteriaText, checkType, tag, stateTag, thingLink, profileLink, emptyRow, section, loading, debounce, APIError, api, listAll, refreshSummary, currentSummary, now, fleetStatistics, onLive, clearLive, connectStream, closeStream, streamOpen, pageState, verifyButton, eventsTable, openVerify } = window.Vigil;

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
        else if (x.type === "ResourceAlreadyExistsException") showErrors(["securityProfileName: " + x.message + "; choose another name, or edit that profile"]);
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
        h("button", { type: "button", id: "export-json", onclick: exportJSON }, "Export JSON"),
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
    const importPanel = section("Import AWS JSON", importText, importError, h("div", { class: "actions" }, fileInput, h("button", { type: "button", id: "import-button", onclick: () => importJSON(importText.value) }, "Import")));
    // With a read-only token the editor shows the profile but changes
    // nothing: every control is disabled, export excepted.
    const readOnly = !window.Vigil.canChange();
    if (readOnly) {
      for (const el of [...form.querySelectorAll("input, select, textarea, button"), ...importPanel.querySelectorAll("input, textarea, button")]) {
        if (el.id !== "export-json") el.disabled = true;
      }
      form.prepend(h("div", { class: "notice readonly-note", id: "read-only-note", role: "note" },
        "Read-only access: the editor needs an admin token. You can read profiles and export them as JSON; sign out and sign in with an admin token to change them."));
    }
    return h("div", {}, metricList,
      h("h1", {}, profile ? (readOnly ? "Profile " : "Edit ") + profile.securityProfileName : "New security profile"),
      h("p", { class: "sub" }, "Behaviors are checked by the API as you type; every problem is shown beside its field. ", pick),
      h("section", { class: "panel" }, form),
      importPanel);
  }

  window.Vigil.pages.editor = editor;
})();
