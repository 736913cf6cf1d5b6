/// <reference lib="dom" />
import { h, table, type Child } from "./dom.js";

/** One series of a chart: a name (in the legend and the table) and a count per bucket. */
export interface Series {
  name: string;
  counts: number[];
}

/** A stacked bar chart's data: time buckets (unix seconds, `[start, end)`) and the series counted in them. */
export interface ChartData {
  buckets: { start: bigint; end: bigint }[];
  series: Series[];
}

const SVG = "http://www.w3.org/2000/svg";
/** Colour-blind-safe palette (Okabe–Ito), cycled. */
const COLOURS = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000"];

function svg(
  tag: string,
  attributes: Record<string, string | number>,
  ...children: (Node | string)[]
): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  for (const child of children) element.append(child);
  return element;
}

/** Count `events` (each with a time and a series name) into `bucketCount` equal time buckets, series in first-seen order. */
export function bucketize(events: readonly { time: bigint; series: string }[], bucketCount = 12): ChartData {
  if (events.length === 0) return { buckets: [], series: [] };
  const times = events.map((e) => e.time);
  const first = times.reduce((a, b) => (a < b ? a : b));
  const last = times.reduce((a, b) => (a > b ? a : b));
  const span = last - first + 1n;
  const count = BigInt(Math.max(1, Math.min(bucketCount, Number(span))));
  const width = (span + count - 1n) / count;
  const buckets = Array.from({ length: Number(count) }, (_, i) => ({
    start: first + BigInt(i) * width,
    end: first + BigInt(i + 1) * width,
  }));
  const series = new Map<string, number[]>();
  for (const e of events) {
    let counts = series.get(e.series);
    if (counts === undefined) {
      counts = buckets.map(() => 0);
      series.set(e.series, counts);
    }
    const index = Number((e.time - first) / width);
    counts[Math.min(index, buckets.length - 1)]! += 1;
  }
  return { buckets, series: [...series].map(([name, counts]) => ({ name, counts })) };
}

/** `2026-11-30 07:36` (UTC). */
function minute(seconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString().replace("T", " ").slice(0, 16);
}

/**
 * A stacked bar chart as an accessible SVG (`role="img"`, a title and a summary as its description), a legend, and
 * the same numbers as a table (in a disclosure, and read by screen readers in place of the picture).
 */
export function stackedBars(id: string, caption: string, data: ChartData): HTMLElement {
  if (data.buckets.length === 0) {
    return h(
      "figure",
      { class: "chart", "data-chart": id },
      h("figcaption", {}, caption),
      h("p", {}, "Nothing yet."),
    );
  }
  const width = 640;
  const height = 220;
  const left = 36;
  const bottom = 36;
  const top = 10;
  const totals = data.buckets.map((_, i) => data.series.reduce((n, s) => n + (s.counts[i] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const plotHeight = height - top - bottom;
  const slot = (width - left - 8) / data.buckets.length;
  const bar = Math.min(48, Math.max(2, slot * 0.7));
  const total = totals.reduce((a, b) => a + b, 0);
  const summary = `${total} in all, from ${minute(data.buckets[0]!.start)} to ${minute(data.buckets[data.buckets.length - 1]!.end)} UTC; ${data.series
    .map((s) => `${s.name}: ${s.counts.reduce((a, b) => a + b, 0)}`)
    .join("; ")}.`;
  const picture = svg(
    "svg",
    {
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-labelledby": `${id}-title ${id}-desc`,
      preserveAspectRatio: "xMidYMid meet",
      class: "chart-svg",
    },
    svg("title", { id: `${id}-title` }, caption),
    svg("desc", { id: `${id}-desc` }, summary),
  );
  for (const tick of [0, Math.ceil(max / 2), max]) {
    const y = top + plotHeight - (tick / max) * plotHeight;
    picture.append(
      svg("line", { x1: left, x2: width - 4, y1: y, y2: y, class: "grid" }),
      svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "axis" }, String(tick)),
    );
  }
  data.buckets.forEach((bucket, i) => {
    let y = top + plotHeight;
    const x = left + i * slot + (slot - bar) / 2;
    data.series.forEach((s, k) => {
      const n = s.counts[i] ?? 0;
      if (n === 0) return;
      const barHeight = (n / max) * plotHeight;
      y -= barHeight;
      picture.append(
        svg(
          "rect",
          { x, y, width: bar, height: barHeight, fill: COLOURS[k % COLOURS.length]! },
          svg("title", {}, `${s.name}: ${n} (${minute(bucket.start)} to ${minute(bucket.end)} UTC)`),
        ),
      );
    });
  });
  const labels = [0, data.buckets.length - 1].filter((v, i, all) => all.indexOf(v) === i);
  for (const i of labels) {
    const x = left + i * slot + slot / 2;
    picture.append(
      svg(
        "text",
        { x, y: height - 14, "text-anchor": i === 0 ? "start" : "end", class: "axis" },
        minute(data.buckets[i]!.start).slice(5),
      ),
    );
  }
  const legend = h(
    "ul",
    { class: "legend", "aria-hidden": "true" },
    data.series.map((s, k) =>
      h(
        "li",
        {},
        h("span", { class: "swatch", style: `background:${COLOURS[k % COLOURS.length]!}` }),
        `${s.name} (${s.counts.reduce((a, b) => a + b, 0)})`,
      ),
    ),
  );
  const rows: Child[][] = data.buckets.map((b, i) => [
    `${minute(b.start)} – ${minute(b.end)}`,
    ...data.series.map((s) => s.counts[i] ?? 0),
    totals[i] ?? 0,
  ]);
  return h(
    "figure",
    { class: "chart", "data-chart": id },
    h("figcaption", {}, caption),
    picture as unknown as Node,
    legend,
    h(
      "details",
      {},
      h("summary", {}, "The numbers as a table"),
      table(`${caption}, per time slot (UTC)`, ["Time slot", ...data.series.map((s) => s.name), "All"], rows),
    ),
  );
}
