// A grouped bar chart of calls/s per system per cell, as hand-written SVG. The axis is
// logarithmic: the systems differ by orders of magnitude, and a linear axis would flatten the
// slow ones to nothing.

import type { CellResult } from "./report.js";
import { systemNames } from "./systems/index.js";

const COLORS = ["#6b7280", "#a8a29e", "#2563eb", "#60a5fa", "#1e3a8a", "#16a34a", "#ea580c", "#9333ea"];

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function compact(n: number): string {
  if (n >= 1e6) return `${+(n / 1e6).toPrecision(3)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toPrecision(3)}k`;
  return `${+n.toPrecision(3)}`;
}

export function chart(cells: readonly CellResult[], title: string): string {
  const order = (system: string) => systemNames.indexOf(system);
  const systems = [...new Set(cells.map((c) => c.system))].sort((a, b) => order(a) - order(b));
  const groups = [...new Set(cells.map((c) => c.cell))];
  const values = cells.map((c) => c.callsPerSec).filter((v) => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const bar = 14;
  const gap = 22;
  const groupWidth = systems.length * bar + gap;
  const left = 70;
  const top = 56;
  const plotHeight = 360;
  const width = left + groups.length * groupWidth + 20;
  const height = top + plotHeight + 70;
  const y = (v: number) =>
    top + plotHeight - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotHeight;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12" role="img">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  );
  for (let e = Math.log10(lo); e <= Math.log10(hi); e++) {
    const v = 10 ** e;
    out.push(
      `<line x1="${left}" x2="${width - 20}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e7eb"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end" fill="#374151">${compact(v)}</text>`,
    );
  }
  out.push(
    `<text transform="translate(16 ${top + plotHeight / 2}) rotate(-90)" text-anchor="middle" fill="#374151">calls/s (log scale)</text>`,
  );
  groups.forEach((group, g) => {
    const x0 = left + g * groupWidth + gap / 2;
    systems.forEach((system, s) => {
      const cell = cells.find((c) => c.cell === group && c.system === system);
      if (cell === undefined || !(cell.callsPerSec > 0)) return;
      const yv = y(cell.callsPerSec);
      out.push(
        `<rect x="${x0 + s * bar}" y="${yv.toFixed(1)}" width="${bar - 2}" height="${(top + plotHeight - yv).toFixed(1)}" fill="${COLORS[s % COLORS.length]}"><title>${escapeXml(`${system} ${group}: ${Math.round(cell.callsPerSec)} calls/s`)}</title></rect>`,
      );
    });
    out.push(
      `<text x="${x0 + (systems.length * bar) / 2}" y="${top + plotHeight + 18}" text-anchor="middle" fill="#111827">${escapeXml(group)}</text>`,
    );
  });
  out.push(
    `<line x1="${left}" x2="${width - 20}" y1="${top + plotHeight}" y2="${top + plotHeight}" stroke="#9ca3af"/>`,
  );
  let lx = left;
  systems.forEach((system, s) => {
    out.push(
      `<rect x="${lx}" y="${top + plotHeight + 40}" width="12" height="12" fill="${COLORS[s % COLORS.length]}"/>`,
      `<text x="${lx + 16}" y="${top + plotHeight + 50}" fill="#111827">${escapeXml(system)}</text>`,
    );
    lx += 24 + system.length * 7;
  });
  out.push("</svg>", "");
  return out.join("\n");
}
