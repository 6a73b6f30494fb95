// The messages-per-minute chart: inline SVG (no library, no inline style), one line per
// series, with a text summary for screen readers.

const NS = "http://www.w3.org/2000/svg";
const HEIGHT = 180;
const PAD = { left: 36, right: 8, top: 10, bottom: 24 };
export const SERIES = [["sent", "Sent"], ["received", "Received"], ["failed", "Failed"]];

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function clock(ms) {
  const d = new Date(ms);
  return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
}

// per_minute: [{minute, sent, received, failed}], oldest first. ``width``: the space it
// gets in CSS pixels, so that the drawing (and its text) is never stretched.
export function chart(perMinute, width = 600) {
  const WIDTH = Math.max(240, Math.round(width));
  const points = perMinute || [];
  const totals = SERIES.map(([key]) => points.reduce((sum, p) => sum + (p[key] || 0), 0));
  const summary = "Messages per minute over the last " + points.length + " minutes: "
    + SERIES.map(([, label], i) => totals[i] + " " + label.toLowerCase()).join(", ") + ".";
  const root = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", class: "chart", "aria-label": summary,
  });
  root.append(svg("title", {}, summary));
  const max = Math.max(1, ...points.flatMap((p) => SERIES.map(([key]) => p[key] || 0)));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (i) => PAD.left + (points.length <= 1 ? 0 : (i * plotW) / (points.length - 1));
  const y = (v) => PAD.top + plotH - (v * plotH) / max;
  for (const value of [0, Math.ceil(max / 2), max]) {
    root.append(svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value), class: "grid" }));
    root.append(svg("text", { x: PAD.left - 6, y: y(value) + 4, class: "axis", "text-anchor": "end" }, value));
  }
  if (!points.length) {
    root.append(svg("text", { x: WIDTH / 2, y: HEIGHT / 2, class: "axis", "text-anchor": "middle" }, "No data yet"));
  } else {
    for (const i of [0, Math.floor((points.length - 1) / 2), points.length - 1]) {
      root.append(svg("text", { x: x(i), y: HEIGHT - 6, class: "axis", "text-anchor": i === 0 ? "start" : i === points.length - 1 ? "end" : "middle" }, clock(points[i].minute)));
    }
  }
  for (const [key] of SERIES) {
    const path = points.map((p, i) => `${x(i).toFixed(1)},${y(p[key] || 0).toFixed(1)}`).join(" ");
    root.append(svg("polyline", { points: path, class: "series series-" + key }));
  }
  return root;
}

export function legend() {
  const list = document.createElement("ul");
  list.className = "legend";
  for (const [key, label] of SERIES) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch swatch-" + key;
    swatch.setAttribute("aria-hidden", "true");
    item.append(swatch, label);
    list.append(item);
  }
  return list;
}
