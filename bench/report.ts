import { LoadResult } from './load';

export interface Row {
  cells: (string | number)[];
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function table(header: string[], rows: (string | number)[][]): string {
  const fmt = (c: string | number) => (typeof c === 'number' ? (Number.isInteger(c) ? String(c) : c.toFixed(c < 10 ? 2 : 0)) : c);
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(fmt).join(' | ')} |`)].join('\n');
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

/** A hand-written SVG: requests/s per second (top) and p99 latency per second (bottom) of each load run. */
export function chart(runs: LoadResult[], title: string): string {
  const W = 760;
  const H = 220;
  const pad = { l: 60, r: 170, t: 28, b: 30 };
  const maxT = Math.max(1, ...runs.map((r) => r.series.length));
  const panel = (y0: number, pick: (p: { rps: number; p99: number }) => number, unit: string, label: string) => {
    const maxV = Math.max(1, ...runs.flatMap((r) => r.series.map(pick))) * 1.1;
    const x = (t: number) => pad.l + (t / Math.max(1, maxT - 1)) * (W - pad.l - pad.r);
    const y = (v: number) => y0 + H - pad.b - (v / maxV) * (H - pad.t - pad.b);
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
      const v = maxV * f;
      return `<line x1="${pad.l}" x2="${W - pad.r}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/><text x="${pad.l - 6}" y="${y(v) + 4}" text-anchor="end" font-size="10">${v.toFixed(0)}</text>`;
    });
    const lines = runs.map((r, i) => {
      const pts = r.series.map((p) => `${x(p.t).toFixed(1)},${y(pick(p)).toFixed(1)}`).join(' ');
      return `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.5" points="${pts}"/>` +
        `<text x="${W - pad.r + 8}" y="${y0 + pad.t + 14 * i + 10}" font-size="11" fill="${COLORS[i % COLORS.length]}">${r.label}</text>`;
    });
    return [
      `<text x="${pad.l}" y="${y0 + 18}" font-size="12" font-weight="bold">${label} (${unit})</text>`,
      ...ticks,
      `<line x1="${pad.l}" x2="${W - pad.r}" y1="${y0 + H - pad.b}" y2="${y0 + H - pad.b}" stroke="#333"/>`,
      `<text x="${(W - pad.r + pad.l) / 2}" y="${y0 + H - 6}" font-size="10" text-anchor="middle">seconds into the run</text>`,
      ...lines,
    ].join('\n');
  };
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${2 * H + 30}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${pad.l}" y="16" font-size="13">${title}</text>`,
    panel(20, (p) => p.rps, 'responses/s', 'Throughput'),
    panel(20 + H, (p) => p.p99, 'ms', 'p99 latency'),
    `</svg>`,
  ].join('\n');
}
