// Vigil charts: small SVG time-series charts drawn without any library.
// bands(): a fleet's percentile bands with thresholds; line(): one thing's
// raw values with violation periods shaded; timeline(): set members (ports,
// addresses) present over time. Every chart follows its container's width,
// shows the values under the pointer, and is keyboard-usable: focus it and
// use the arrow keys, Home and End.
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const M = { l: 58, r: 14, t: 12, b: 28 };
  const settings = { utc: false };
  let clipCount = 0;

  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  // fmtNumber writes 12345 as 12.3k, keeping small values exact.
  function fmtNumber(v) {
    if (v == null || isNaN(v)) return "–";
    const a = Math.abs(v);
    if (a >= 1e9) return trim(v / 1e9) + "G";
    if (a >= 1e6) return trim(v / 1e6) + "M";
    if (a >= 1e4) return trim(v / 1e3) + "k";
    if (Number.isInteger(v)) return String(v);
    return v.toFixed(a < 10 ? 2 : 1);
  }
  function trim(x) { return (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1)).replace(/\.0$/, ""); }

  function parts(ms) {
    const d = new Date(ms);
    if (settings.utc) return { y: d.getUTCFullYear(), mo: d.getUTCMonth(), d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes() };
    return { y: d.getFullYear(), mo: d.getMonth(), d: d.getDate(), h: d.getHours(), mi: d.getMinutes() };
  }
  const pad = (n) => String(n).padStart(2, "0");
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function fmtTime(ms) {
    const p = parts(ms);
    return `${p.d} ${MONTHS[p.mo]} ${pad(p.h)}:${pad(p.mi)}${settings.utc ? " UTC" : ""}`;
  }
  function fmtClock(ms) { const p = parts(ms); return `${pad(p.h)}:${pad(p.mi)}`; }
  function fmtDay(ms) { const p = parts(ms); return `${p.d} ${MONTHS[p.mo]}`; }
  function tzOffset(ms) { return settings.utc ? 0 : -new Date(ms).getTimezoneOffset() * 60000; }

  // timeTicks picks a tick step that leaves about 90 px between labels,
  // aligned to the local (or UTC) clock.
  const STEPS = [5, 15, 30, 60, 180, 360, 720, 1440, 2880, 10080].map((m) => m * 60000);
  function timeTicks(start, end, width) {
    const want = Math.max(2, Math.floor(width / 90));
    let step = STEPS[STEPS.length - 1];
    for (const s of STEPS) if ((end - start) / s <= want) { step = s; break; }
    const off = tzOffset(start);
    const out = [];
    for (let t = Math.ceil((start + off) / step) * step - off; t <= end; t += step) out.push(t);
    return { ticks: out, step };
  }
  function tickLabel(t, step) {
    const p = parts(t);
    if (step >= 86400000 || (p.h === 0 && p.mi === 0)) return fmtDay(t);
    return fmtClock(t);
  }

  // niceStep rounds a tick step up to 1, 2, 2.5 or 5 times a power of ten.
  function niceStep(v) {
    if (!(v > 0)) return 0.25;
    const e = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * e >= v * 0.999) return m * e;
    return 10 * e;
  }
  // niceMax is the top of a y axis of four nice steps that holds v.
  function niceMax(v) { return 4 * niceStep(v / 4); }

  // yScale maps values to [0, 1] of the plot's height: linear up to a nice
  // maximum, or logarithmic (log10 of 1 + v, so that 0 stays at the
  // bottom) up to a power of ten, for heavy-tailed values.
  function yScale(max, log) {
    if (!log) {
      const top = niceMax(max * 1.05);
      return { f: (v) => v / top, ticks: [0, 1, 2, 3, 4].map((i) => (top * i) / 4) };
    }
    const top = Math.pow(10, Math.ceil(Math.log10(Math.max(10, max * 1.05))));
    let ticks = [0];
    for (let p = 1; p <= top; p *= 10) ticks.push(p);
    if (ticks.length > 7) ticks = ticks.filter((_, i) => i === 0 || i % 2 === (ticks.length - 1) % 2);
    const lt = Math.log10(1 + top);
    return { f: (v) => Math.log10(1 + Math.max(0, v)) / lt, ticks };
  }

  // frame draws the axes and grid and returns the scales.
  function frame(svg, W, H, start, end, ys, fmt) {
    const pw = W - M.l - M.r, ph = H - M.t - M.b;
    const x = (t) => M.l + ((t - start) / (end - start)) * pw;
    const y = (v) => M.t + ph - ys.f(v) * ph;
    const grid = el("g", { class: "grid" }, svg);
    const axis = el("g", { class: "axis" }, svg);
    for (const v of ys.ticks) {
      const yy = y(v).toFixed(1);
      el("line", { x1: M.l, x2: W - M.r, y1: yy, y2: yy }, grid);
      const t = el("text", { x: M.l - 6, y: +yy + 4, "text-anchor": "end" }, axis);
      t.textContent = (fmt || fmtNumber)(v);
    }
    const { ticks, step } = timeTicks(start, end, pw);
    for (const t of ticks) {
      const xx = x(t).toFixed(1);
      el("line", { x1: xx, x2: xx, y1: M.t, y2: M.t + ph }, grid);
      const lab = el("text", { x: xx, y: H - 8, "text-anchor": "middle" }, axis);
      lab.textContent = tickLabel(t, step);
    }
    return { x, y, pw, ph };
  }

  // segments splits indexes into runs without gaps (a gap: more than 1.5
  // steps between neighbours).
  function segments(times, ok, step) {
    const out = [];
    let s = -1;
    for (let i = 0; i < times.length; i++) {
      const good = ok(i);
      if (good && s >= 0 && times[i] - times[i - 1] > 1.5 * step) { out.push([s, i - 1]); s = -1; }
      if (good && s < 0) s = i;
      if (!good && s >= 0) { out.push([s, i - 1]); s = -1; }
    }
    if (s >= 0) out.push([s, times.length - 1]);
    return out;
  }

  function linePath(xs, ys, segs) {
    const d = [];
    for (const [a, b] of segs) {
      d.push("M" + xs[a] + "," + ys[a]);
      for (let i = a + 1; i <= b; i++) d.push("L" + xs[i] + "," + ys[i]);
      if (a === b) d.push("h1");
    }
    return d.join("");
  }

  function areaPath(xs, lo, hi, segs) {
    const d = [];
    for (const [a, b] of segs) {
      d.push("M" + xs[a] + "," + hi[a]);
      for (let i = a + 1; i <= b; i++) d.push("L" + xs[i] + "," + hi[i]);
      for (let i = b; i >= a; i--) d.push("L" + xs[i] + "," + lo[i]);
      d.push("Z");
    }
    return d.join("");
  }

  const pctOf = (s) => parseFloat(s.slice(1));
  const finite = (v) => v != null && isFinite(v);

  function nearest(times, t) {
    let lo = 0, hi = times.length - 1;
    if (hi < 0) return -1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid] < t) lo = mid + 1; else hi = mid;
    }
    if (lo > 0 && t - times[lo - 1] < times[lo] - t) lo--;
    return lo;
  }

  const tip = () => document.getElementById("tooltip");
  function showTip(html, cx, cy) {
    const t = tip();
    t.innerHTML = html;
    t.hidden = false;
    const r = t.getBoundingClientRect();
    let left = cx + 16, top = cy + 12;
    if (left + r.width > window.innerWidth - 8) left = cx - r.width - 16;
    if (top + r.height > window.innerHeight - 8) top = cy - r.height - 12;
    t.style.left = Math.max(4, left) + "px";
    t.style.top = Math.max(4, top) + "px";
  }
  function hideTip() { tip().hidden = true; }
  function esc(s) { return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]); }

  // interactive adds the pointer and keyboard cursor to a chart.
  function interactive(svg, W, H, times, xs, describe, dots, label) {
    if (!times.length) return;
    const cursor = el("line", { class: "cursor", y1: M.t, y2: H - M.b, visibility: "hidden" }, svg);
    const dotEls = [];
    const hit = el("rect", { class: "hit", x: M.l, y: M.t, width: W - M.l - M.r, height: H - M.t - M.b }, svg);
    let idx = -1;
    svg.setAttribute("tabindex", "0");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label + ". Use the arrow keys to read the values.");
    const show = (i, cx, cy) => {
      idx = i;
      const xx = xs[i];
      cursor.setAttribute("x1", xx); cursor.setAttribute("x2", xx); cursor.setAttribute("visibility", "visible");
      const ys = dots(i);
      while (dotEls.length < ys.length) dotEls.push(el("circle", { class: "cursor-dot", r: 2.8 }, svg));
      dotEls.forEach((d, k) => {
        if (k < ys.length && finite(ys[k])) { d.setAttribute("cx", xx); d.setAttribute("cy", ys[k]); d.setAttribute("visibility", "visible"); } else d.setAttribute("visibility", "hidden");
      });
      if (cx == null) {
        const r = svg.getBoundingClientRect();
        cx = r.left + (xx / W) * r.width; cy = r.top + r.height / 3;
      }
      showTip(describe(i), cx, cy);
      svg.dataset.cursor = String(i);
    };
    const hide = () => { cursor.setAttribute("visibility", "hidden"); dotEls.forEach((d) => d.setAttribute("visibility", "hidden")); hideTip(); };
    hit.addEventListener("mousemove", (e) => {
      const r = svg.getBoundingClientRect();
      const px = ((e.clientX - r.left) / r.width) * W;
      let best = 0, bd = Infinity;
      // xs is sorted: binary search on the pixel position.
      let lo = 0, hi = xs.length - 1;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (xs[mid] < px) lo = mid + 1; else hi = mid; }
      for (const c of [lo - 1, lo]) if (c >= 0 && Math.abs(xs[c] - px) < bd) { bd = Math.abs(xs[c] - px); best = c; }
      show(best, e.clientX, e.clientY);
    });
    hit.addEventListener("mouseleave", hide);
    svg.addEventListener("blur", hide);
    svg.addEventListener("keydown", (e) => {
      let i = idx < 0 ? times.length - 1 : idx;
      const big = Math.max(1, Math.round(times.length / 20));
      switch (e.key) {
        case "ArrowLeft": i = Math.max(0, i - (e.shiftKey ? big : 1)); break;
        case "ArrowRight": i = Math.min(times.length - 1, i + (e.shiftKey ? big : 1)); break;
        case "PageUp": i = Math.max(0, i - big); break;
        case "PageDown": i = Math.min(times.length - 1, i + big); break;
        case "Home": i = 0; break;
        case "End": i = times.length - 1; break;
        case "Escape": hide(); return;
        default: return;
      }
      e.preventDefault();
      show(i);
    });
  }

  function thresholdRows(thresholds, i) {
    return thresholds.map((th) => {
      const v = th.values ? th.values[i] : th.value;
      return `<tr><td>${esc(th.label)}</td><td class="num">${fmtNumber(v)}</td></tr>`;
    }).join("");
  }

  function drawThresholds(svg, W, sc, xs, thresholds, step, times) {
    for (const th of thresholds) {
      if (th.values) {
        const ys = th.values.map((v) => (finite(v) ? sc.y(v).toFixed(1) : null));
        const segs = segments(times, (i) => ys[i] != null, step);
        el("path", { class: "threshold moving", d: linePath(xs, ys, segs) }, svg);
        if (segs.length) {
          const last = segs[segs.length - 1][1];
          const t = el("text", { class: "threshold-label moving", x: W - M.r - 4, y: +ys[last] - 5, "text-anchor": "end" }, svg);
          t.textContent = th.label;
        }
      } else if (finite(th.value)) {
        const yy = sc.y(th.value).toFixed(1);
        el("line", { class: "threshold", x1: M.l, x2: W - M.r, y1: yy, y2: yy }, svg);
        const t = el("text", { class: "threshold-label", x: W - M.r - 4, y: +yy - 5, "text-anchor": "end" }, svg);
        t.textContent = th.label;
      }
    }
  }

  // prepare empties a container and returns its SVG and size; it redraws
  // the chart when the container's width changes.
  function prepare(container, H, redraw) {
    const W = Math.max(320, Math.round(container.clientWidth || 800));
    container.textContent = "";
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, preserveAspectRatio: "none" }, container);
    if (!container._observer && window.ResizeObserver) {
      let last = W, timer = 0;
      container._observer = new ResizeObserver(() => {
        const w = Math.round(container.clientWidth);
        if (Math.abs(w - last) < 8) return;
        last = w;
        clearTimeout(timer);
        timer = setTimeout(() => container._redraw && container._redraw(), 120);
      });
      container._observer.observe(container);
    }
    container._redraw = redraw;
    return { svg, W };
  }

  function noData(svg, W, H, text) {
    const t = el("text", { class: "nodata", x: W / 2, y: H / 2, "text-anchor": "middle" }, svg);
    t.textContent = text || "No data in this period";
  }

  // bands draws the fleet's percentile bands. o: {times (ms, sorted),
  // step (ms), stats: {p10: [...]}, devices: [...], visible: ["p10", ...],
  // thresholds: [{label, value} | {label, values}], start, end, label}.
  function bands(container, o) {
    const H = o.height || 280;
    const { svg, W } = prepare(container, H, () => bands(container, o));
    const vis = o.visible.filter((s) => o.stats[s]).sort((a, b) => pctOf(a) - pctOf(b));
    // On a linear scale, when p100 (one flooding device) would flatten the
    // other statistics (more than 3 times their top), the axis fits them and
    // clips p100 at the top edge, and says so; the log scale shows it all.
    let below = 0, top100 = 0;
    for (const s of vis) {
      let m = 0;
      for (const v of o.stats[s]) if (v > m) m = v;
      if (s === "p100") top100 = m; else below = Math.max(below, m);
    }
    const clipped = !o.log && vis.length > 1 && top100 > 3 * below && below > 0;
    let max = clipped ? below * 1.5 : Math.max(below, top100);
    for (const th of o.thresholds) {
      if (th.values) { for (const v of th.values) if (finite(v) && v > max && v < max * 50 + 1) max = v; } else if (finite(th.value) && th.value > max) max = th.value;
    }
    const sc = frame(svg, W, H, o.start, o.end, yScale(max, o.log), o.format);
    if (!o.times.length) { noData(svg, W, H); return svg; }
    const clipID = "plot-clip-" + (++clipCount);
    el("rect", { x: M.l, y: M.t - 1, width: sc.pw, height: sc.ph + 1 }, el("clipPath", { id: clipID }, svg));
    if (clipped) {
      el("text", { class: "clip-note", x: M.l + 6, y: M.t + 12 }, svg).textContent = "p100 goes above the axis: hover for its values, or use the log scale";
    }
    const xs = Array.from(o.times, (t) => sc.x(t).toFixed(1));
    const ys = {};
    for (const s of vis) ys[s] = o.stats[s].map((v) => (finite(v) ? sc.y(v).toFixed(1) : null));
    const segs = (s) => segments(o.times, (i) => ys[s][i] != null, o.step);
    const g = el("g", { "clip-path": `url(#${clipID})`, "data-clipped": String(clipped) }, svg);
    const n = vis.length - 1;
    for (let k = 0; k < n; k++) {
      const lo = vis[k], hi = vis[k + 1];
      const depth = Math.min(2, Math.min(k, n - 1 - k));
      const sg = segments(o.times, (i) => ys[lo][i] != null && ys[hi][i] != null, o.step);
      el("path", { class: `band b${depth}`, "data-band": `${lo}-${hi}`, d: areaPath(xs, ys[lo], ys[hi], sg) }, g);
    }
    for (const s of vis) el("path", { class: `stat ${s.replace(".", "_")}`, "data-stat": s, d: linePath(xs, ys[s], segs(s)) }, g);
    drawThresholds(svg, W, sc, xs, o.thresholds, o.step, o.times);
    interactive(svg, W, H, o.times, xs, (i) => {
      const rows = vis.slice().reverse().map((s) => `<tr><td>${s}</td><td class="num">${fmtNumber(o.stats[s][i])}</td></tr>`).join("");
      return `<div class="t">${fmtTime(o.times[i])}</div><table>${rows}${thresholdRows(o.thresholds, i)}` +
        `<tr><td>devices</td><td class="num">${o.devices[i]}</td></tr></table>`;
    }, (i) => vis.map((s) => ys[s][i]), o.label || "Fleet percentile bands");
    return svg;
  }

  // line draws one series of raw values with shaded periods. o: {times,
  // values, step, shades: [{start, end}], thresholds, start, end, label}.
  function line(container, o) {
    const H = o.height || 220;
    const { svg, W } = prepare(container, H, () => line(container, o));
    let max = 0;
    for (const v of o.values) if (v > max) max = v;
    for (const th of o.thresholds) if (finite(th.value) && th.value > max) max = th.value;
    const sc = frame(svg, W, H, o.start, o.end, yScale(max, o.log), o.format);
    for (const s of o.shades) {
      const a = Math.max(o.start, s.start), b = Math.min(o.end, s.end);
      if (b <= a) continue;
      const r = el("rect", { class: "shade", x: sc.x(a).toFixed(1), y: M.t, width: Math.max(2, sc.x(b) - sc.x(a)).toFixed(1), height: sc.ph }, svg);
      el("title", {}, r).textContent = s.label || "violation";
    }
    if (!o.times.length) { noData(svg, W, H); return svg; }
    const xs = Array.from(o.times, (t) => sc.x(t).toFixed(1));
    const ys = o.values.map((v) => (finite(v) ? sc.y(v).toFixed(1) : null));
    el("path", { class: "raw", d: linePath(xs, ys, segments(o.times, (i) => ys[i] != null, o.step)) }, svg);
    if (o.times.length <= 300) for (let i = 0; i < xs.length; i++) if (ys[i] != null) el("circle", { class: "rawdot", cx: xs[i], cy: ys[i], r: 1.8 }, svg);
    drawThresholds(svg, W, sc, xs, o.thresholds, o.step, o.times);
    interactive(svg, W, H, o.times, xs, (i) => {
      const inViolation = o.shades.some((s) => o.times[i] >= s.start && o.times[i] <= s.end);
      return `<div class="t">${fmtTime(o.times[i])}</div><table><tr><td>value</td><td class="num">${fmtNumber(o.values[i])}</td></tr>` +
        thresholdRows(o.thresholds, i) + `</table>${inViolation ? '<div class="form-errors">in violation</div>' : ""}`;
    }, (i) => [ys[i]], o.label || "Raw values");
    return svg;
  }

  // timeline draws which members of a set (ports, addresses) were present
  // over time. o: {rows: [{label, segments: [[start, end]], unexpected}],
  // start, end, label}.
  function timeline(container, o) {
    const rowH = 18, LW = 150;
    const H = Math.max(60, M.t + M.b + rowH * Math.max(1, o.rows.length));
    const { svg, W } = prepare(container, H, () => timeline(container, o));
    const pw = W - LW - M.r;
    const x = (t) => LW + ((t - o.start) / (o.end - o.start)) * pw;
    const axis = el("g", { class: "axis" }, svg), grid = el("g", { class: "grid" }, svg);
    const { ticks, step } = timeTicks(o.start, o.end, pw);
    for (const t of ticks) {
      el("line", { x1: x(t).toFixed(1), x2: x(t).toFixed(1), y1: M.t, y2: H - M.b }, grid);
      el("text", { x: x(t).toFixed(1), y: H - 8, "text-anchor": "middle" }, axis).textContent = tickLabel(t, step);
    }
    for (const sh of o.shades || []) {
      const a = Math.max(o.start, sh.start), b = Math.min(o.end, sh.end);
      if (b <= a) continue;
      const r = el("rect", { class: "shade", x: x(a).toFixed(1), y: M.t, width: Math.max(2, x(b) - x(a)).toFixed(1), height: H - M.t - M.b }, svg);
      el("title", {}, r).textContent = sh.label || "violation";
    }
    if (!o.rows.length) { noData(svg, W, H, "Nothing reported in this period"); return svg; }
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", o.label || "Set members over time");
    o.rows.forEach((row, k) => {
      const y = M.t + k * rowH;
      const cls = row.unexpected ? " unexpected" : "";
      el("text", { class: "row-label" + cls, x: LW - 8, y: y + 13, "text-anchor": "end" }, svg).textContent = row.label;
      for (const [a, b] of row.segments) {
        const s = Math.max(a, o.start), e = Math.min(b, o.end);
        if (e < s) continue;
        const r = el("rect", { class: "seg-present" + cls, x: x(s).toFixed(1), y: y + 3, width: Math.max(2, x(e) - x(s)).toFixed(1), height: rowH - 6, rx: 2 }, svg);
        el("title", {}, r).textContent = `${row.label}: ${fmtTime(a)} – ${fmtTime(b)}`;
      }
    });
    return svg;
  }

  window.VigilChart = { bands, line, timeline, fmtNumber, fmtTime, settings, nearest };
})();
