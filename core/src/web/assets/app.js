// The live page: polls /api/state and redraws. No framework, no build step.
"use strict";

const COLOURS = ["#4c9aff", "#3ecf8e", "#f5a524", "#f0506e", "#b37feb", "#36cfc9", "#ff85c0", "#d3f261"];
const SVG = "http://www.w3.org/2000/svg";

const $ = (id) => document.getElementById(id);
const fmt = (x, digits) => (x === null || x === undefined ? "–" : Number(x).toFixed(digits));
const big = (x) => Math.round(x).toLocaleString("en-US");

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function fill(tbody, rows, columns, empty) {
  tbody.replaceChildren();
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    tr.appendChild(cell(empty, "empty")).colSpan = columns;
    tbody.appendChild(tr);
    return;
  }
  for (const r of rows) tbody.appendChild(r);
}

// How a prediction without a model was made (the alert's `cold_start`):
// the mark shown next to the cascade and what the w column says instead of
// a learned correction.
const COLD = {
  hawkes: { mark: "cold start", cls: "mark-cold", w: null, title: "made before the window's first model: the Hawkes size, w = 1" },
  first_generation: { mark: "cold start", cls: "mark-cold", w: "1st gen", title: "made before the window's first model: the first generation, n_obs + G1" },
  near_critical: { mark: "near-critical", cls: "mark-near-critical", w: "1st gen", title: "n* close to 1: the Hawkes size means nothing, so the first generation n_obs + G1 is shown, a lower bound" },
  carried_over: { mark: "carried over", cls: "mark-cold", w: null, title: "made before the window's first model, by a model carried over from an earlier run (--initial-model)" },
  other: { mark: "cold start", cls: "mark-cold", w: null, title: "made before the window's first model" },
};

function mark(e) {
  if (!e.cold_start) return null;
  const c = COLD[e.cold_start] || COLD.other;
  const span = document.createElement("span");
  span.className = "mark " + c.cls;
  span.title = c.title;
  span.textContent = c.mark;
  return span;
}

function wCell(e) {
  const c = e.cold_start ? COLD[e.cold_start] || COLD.other : null;
  if (c && c.w) {
    const td = cell(c.w, "num w-first-gen");
    td.title = c.title + " (w = " + fmt(e.w, 2) + ")";
    return td;
  }
  const w = e.w === null ? 1 : e.w;
  if (w !== 0 && Math.abs(w) < 0.01) {
    // Two decimals would say 0.00, as if there were no prediction.
    const td = cell(Number(w).toPrecision(2), "num w-small");
    td.title = "a correction this small cancels almost all the Hawkes term: typical of a near-critical fit (n* close to 1)";
    return td;
  }
  return cell(fmt(w, 2), "num");
}

function intervalCell(e) {
  if (e.low === null || e.high === null || e.low === undefined || e.high === undefined) {
    const td = cell("–", "num interval none");
    td.title = "no interval: the window has no calibrated model yet";
    return td;
  }
  return cell(big(e.low) + " – " + big(e.high), "num interval");
}

function topRows(state) {
  const max = state.top.reduce((m, e) => Math.max(m, e.n_tot), 1);
  return state.top.map((e, i) => {
    const tr = document.createElement("tr");
    tr.className = "top-row";
    if (e.cold_start) tr.dataset.coldStart = e.cold_start;
    tr.appendChild(cell(String(i + 1)));
    const cid = cell(e.cid);
    const m = mark(e);
    if (m) cid.append(" ", m);
    tr.appendChild(cid);
    tr.appendChild(cell(String(e.window), "num"));
    tr.appendChild(cell(e.n_obs === null ? "–" : big(e.n_obs), "num"));
    const pred = cell("", "num pred");
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = Math.max(2, (80 * e.n_tot) / max) + "px";
    pred.append(bar, big(e.n_tot));
    tr.appendChild(pred);
    tr.appendChild(intervalCell(e));
    tr.appendChild(wCell(e));
    tr.appendChild(cell(fmt(state.now - e.at, 0), "num"));
    return tr;
  });
}

function windowRows(state) {
  return state.windows.map((w) => {
    const tr = document.createElement("tr");
    tr.className = "window-row";
    tr.appendChild(cell(String(w.window), "num"));
    tr.appendChild(cell(big(w.scored), "num"));
    tr.appendChild(cell(fmt(w.median_are, 3), "num"));
    tr.appendChild(cell(fmt(w.median_are_hawkes, 3), "num"));
    return tr;
  });
}

function producerRows(state) {
  return state.producers.map((p) => {
    const tr = document.createElement("tr");
    tr.className = "producer-row";
    tr.appendChild(cell(p.instance));
    tr.appendChild(cell(p.topics.join(", ")));
    tr.appendChild(cell(big(p.messages), "num"));
    tr.appendChild(cell(fmt(p.age, 1), "num"));
    tr.appendChild(cell(p.status, "status-" + p.status));
    return tr;
  });
}

function svg(name, attrs, text) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

// Median ARE per window against time (seconds before now), drawn in SVG.
function drawChart(state) {
  const chart = $("chart");
  chart.replaceChildren();
  // Drawn at the element's own size, so that text is not stretched.
  const W = Math.max(300, Math.round(chart.clientWidth || 600)), H = 300, L = 58, R = 12, T = 10, B = 40;
  chart.setAttribute("viewBox", "0 0 " + W + " " + H);
  const windows = state.windows.map((w) => w.window);
  const points = state.history;
  let ymax = 0;
  for (const p of points) for (const v of Object.values(p.medians)) ymax = Math.max(ymax, v);
  ymax = ymax > 0 ? ymax * 1.15 : 1;
  const t0 = points.length ? points[0].t : state.now - 60;
  const span = Math.max(state.now - t0, 10);
  const x = (t) => L + ((t - (state.now - span)) / span) * (W - L - R);
  const y = (v) => T + (1 - v / ymax) * (H - T - B);
  for (let i = 0; i <= 4; i++) {
    const v = (ymax * i) / 4;
    chart.appendChild(svg("line", { class: "grid-line", x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    chart.appendChild(svg("text", { class: "axis-label", x: L - 6, y: y(v) + 4, "text-anchor": "end" }, v.toFixed(2)));
  }
  for (let i = 0; i <= 4; i++) {
    const t = state.now - span + (span * i) / 4;
    const ago = state.now - t;
    const label = ago >= 120 ? "-" + (ago / 60).toFixed(0) + " min" : "-" + ago.toFixed(0) + " s";
    chart.appendChild(svg("text", { class: "axis-label", x: x(t), y: H - B + 16, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" }, i === 4 ? "now" : label));
  }
  chart.appendChild(svg("text", { class: "axis-title", id: "x-title", x: L + (W - L - R) / 2, y: H - 4, "text-anchor": "middle" }, "time (before now)"));
  chart.appendChild(svg("text", { class: "axis-title", id: "y-title", x: -(T + (H - T - B) / 2), y: 14, transform: "rotate(-90)", "text-anchor": "middle" }, "median ARE (fraction)"));
  const legend = $("legend");
  legend.replaceChildren();
  windows.forEach((w, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const series = points.filter((p) => p.medians[w] !== undefined);
    if (series.length) {
      const d = series.map((p, j) => (j ? "L" : "M") + x(p.t).toFixed(1) + " " + y(p.medians[w]).toFixed(1)).join(" ");
      chart.appendChild(svg("path", { class: "series", d, stroke: colour, "data-window": w }));
      for (const p of series) {
        chart.appendChild(svg("circle", { class: "point", cx: x(p.t).toFixed(1), cy: y(p.medians[w]).toFixed(1), r: 2.5, fill: colour, "data-window": w }));
      }
    }
    const item = document.createElement("span");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = colour;
    item.append(swatch, w + " s window");
    legend.appendChild(item);
  });
}

function status(state) {
  const el = $("status");
  const ages = [state.freshness.alerts_age, state.freshness.stats_age].filter((a) => a !== null);
  const stale = state.producers.some((p) => p.status !== "ok");
  if (ages.length === 0) {
    el.className = "pill wait";
    el.textContent = "waiting for predictions";
  } else if (Math.min(...ages) > state.freshness.stale_after || stale) {
    el.className = "pill bad";
    el.textContent = "stale: no recent data";
  } else {
    el.className = "pill ok";
    el.textContent = "live";
  }
}

function render(state) {
  $("alerts-rate").textContent = fmt(state.rates.alerts_per_s, 1);
  $("stats-rate").textContent = fmt(state.rates.stats_per_s, 1);
  $("alerts-total").textContent = big(state.rates.alerts_total) + " in all";
  $("stats-total").textContent = big(state.rates.stats_total) + " in all";
  $("alerts-age").textContent = fmt(state.freshness.alerts_age, 1);
  $("stats-age").textContent = fmt(state.freshness.stats_age, 1);
  $("duplicates").textContent = big(state.rates.duplicates);
  $("uptime").textContent = "running " + fmt(state.uptime, 0) + " s, " + (state.delivery || "at-least-once");
  fill($("top-rows"), topRows(state), 8, "no prediction yet");
  fill($("window-rows"), windowRows(state), 4, "no stat yet");
  fill($("producer-rows"), producerRows(state), 5, "none heard yet");
  drawChart(state);
  status(state);
}

async function poll() {
  try {
    const response = await fetch("/api/state", { cache: "no-store" });
    if (!response.ok) throw new Error("HTTP " + response.status);
    render(await response.json());
  } catch (error) {
    const el = $("status");
    el.className = "pill bad";
    el.textContent = "disconnected: " + error.message;
  }
  setTimeout(poll, 1000);
}

poll();
