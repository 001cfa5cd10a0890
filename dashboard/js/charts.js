/*
 * charts.js: bar charts for the dashboard, drawn with chart.js (its UMD
 * build, vendor/chart.umd.js, loaded by a plain <script> before the page's
 * module; scripts/setup puts it there from npm). One chart per canvas, kept
 * and updated in place; colours from the page's CSS (light or dark), redrawn
 * when the system's setting changes; no animation. Each canvas gets a text
 * description for screen readers. Without the library, charts say so
 * instead of failing the page.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
import { fmtInt, h } from "./util.js";

const charts = new Map();  /* canvas -> {chart, spec} */

export const chartLibrary = () => (typeof window.Chart === "function" ? window.Chart : null);

function palette() {
  const css = getComputedStyle(document.documentElement);
  const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  return {
    bar: v("--chart-bar", "#1c5d8a"),
    barActive: v("--chart-bar-active", "#c4661f"),
    text: v("--muted", "#58636e"),
    grid: v("--line", "#dbe0e5"),
  };
}

/* A short text of the chart's data for screen readers: the first values. */
function describe(spec) {
  const n = Math.min(spec.labels.length, 12);
  const parts = [];
  for (let i = 0; i < n; i++) parts.push(`${spec.labels[i]}: ${fmtInt(spec.values[i])}`);
  const more = spec.labels.length > n ? `, and ${spec.labels.length - n} more` : "";
  return `${spec.title}. ${parts.join("; ")}${more}.`;
}

function config(spec) {
  const c = palette();
  const horizontal = !!spec.horizontal;
  const valueAxis = {
    type: spec.log ? "logarithmic" : "linear",
    beginAtZero: !spec.log,
    ticks: { color: c.text, precision: 0 },
    grid: { color: c.grid },
  };
  const labelAxis = {
    ticks: {
      color: c.text,
      autoSkip: !horizontal,
      /* Long names (institutions) are cut to what the chart's width
       * allows; the tooltip has them whole. */
      callback(value) {
        const s = String(this.getLabelForValue(value));
        const max = spec.maxLabel || 32;
        return s.length > max ? `${s.slice(0, max - 1)}…` : s;
      },
    },
    grid: { display: false },
  };
  return {
    type: "bar",
    data: {
      labels: spec.labels,
      datasets: [{
        label: spec.series || "Records",
        data: spec.values,
        backgroundColor: spec.labels.map((_, i) => (spec.active && spec.active(i) ? c.barActive : c.bar)),
        borderRadius: 2,
        maxBarThickness: 28,
      }],
    },
    options: {
      indexAxis: horizontal ? "y" : "x",
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { title: (items) => String(items[0]?.label ?? "") } },
      },
      scales: horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
      onClick: (evt, elements) => {
        if (spec.onClick && elements.length) spec.onClick(elements[0].index);
      },
      onHover: (evt, elements) => {
        if (evt.native?.target) evt.native.target.style.cursor =
          spec.onClick && elements.length ? "pointer" : "default";
      },
    },
  };
}

/* Draws (or redraws) a bar chart in box, a container the chart fills.
 * spec: {title, labels, values, horizontal, log, series, onClick(index),
 * active(index) -> highlighted}. Returns false when chart.js is missing or
 * there is nothing to draw (box then says so). */
export function barChart(box, spec) {
  const Chart = chartLibrary();
  let entry = charts.get(box);
  if (!Chart || spec.labels.length === 0) {
    entry?.chart.destroy();
    charts.delete(box);
    box.replaceChildren(h("p", { class: "chart-empty muted" },
      Chart ? "Nothing to show." : "The chart library is not installed (run scripts/setup)."));
    box.style.height = "";
    return false;
  }
  /* Labels beside horizontal bars take at most about 40% of the width. */
  spec.maxLabel = Math.min(32, Math.max(10, Math.round((box.clientWidth || 400) / 16)));
  /* Horizontal bars get their height from their number. */
  box.style.height = spec.horizontal ? `${Math.max(140, spec.labels.length * 17 + 44)}px` : "";
  if (!entry || entry.chart.canvas.parentNode !== box) {
    entry?.chart.destroy();
    const canvas = h("canvas", { role: "img" });
    box.replaceChildren(canvas);
    entry = { chart: new Chart(canvas, config(spec)), spec };
    charts.set(box, entry);
  } else {
    const cfg = config(spec);
    entry.chart.data = cfg.data;
    entry.chart.options = cfg.options;
    entry.chart.update("none");
    entry.spec = spec;
  }
  entry.chart.canvas.setAttribute("aria-label", describe(spec));
  box.dataset.points = String(spec.labels.length);
  return true;
}

/* Light and dark: redraw every chart with the new colours. */
window.matchMedia?.("(prefers-color-scheme: dark)").addEventListener?.("change", () => {
  for (const [box, entry] of charts) barChart(box, entry.spec);
});
