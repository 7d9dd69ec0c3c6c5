// Item 6's plot: ingest cost against history length and against the number
// of segments, as an SVG document (rendered to PNG by browser.mjs). Log
// scales: the native and the wasm figures are far apart, and a flat line is
// what matters.

const W = 480;
const H = 320;
const M = { left: 64, right: 16, top: 40, bottom: 48 };

function scale(domain, range, log) {
  const f = log ? Math.log10 : (v) => v;
  const [d0, d1] = domain.map(f);
  return (v) => range[0] + ((f(v) - d0) / (d1 - d0 || 1)) * (range[1] - range[0]);
}

function ticks(lo, hi, log) {
  if (!log) {
    const step = Math.pow(10, Math.floor(Math.log10(hi - lo || 1)));
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) out.push(v);
    return out;
  }
  const out = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); ++e) {
    for (const m of [1, 2, 5]) {
      const v = m * Math.pow(10, e);
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  }
  return out;
}

const fmt = (v) => (v >= 1000 ? `${v / 1000}k` : `${+v.toPrecision(3)}`);
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** One panel: `series` = [{ label, color, points: [{ x, y, lo, hi }] }]. */
function panel({ title, xLabel, yLabel, xs, xLog, series }, ox) {
  const ys = series.flatMap((s) => s.points.flatMap((p) => [p.lo ?? p.y, p.hi ?? p.y])).filter((v) => v > 0);
  const yLo = Math.pow(10, Math.floor(Math.log10(Math.min(...ys))));
  const yHi = Math.pow(10, Math.ceil(Math.log10(Math.max(...ys))));
  // A margin around the first and last x, so that no point sits on the frame.
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const xDomain = xLog ? [x0 / 1.4, x1 * 1.4] : [x0 - (x1 - x0) * 0.05, x1 + (x1 - x0) * 0.05];
  const x = scale(xDomain, [ox + M.left, ox + W - M.right], xLog);
  const y = scale([yLo, yHi], [H - M.bottom, M.top], true);
  const parts = [`<text x="${ox + W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="600">${esc(title)}</text>`];
  for (const t of ticks(yLo, yHi, true)) {
    parts.push(`<line x1="${ox + M.left}" x2="${ox + W - M.right}" y1="${y(t)}" y2="${y(t)}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${ox + M.left - 6}" y="${y(t) + 4}" text-anchor="end" font-size="11">${fmt(t)}</text>`);
  }
  for (const t of xs) {
    parts.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${x(t)}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="11">${fmt(t)}</text>`);
  }
  parts.push(`<rect x="${ox + M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${ox + W / 2}" y="${H - 10}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>`);
  parts.push(`<text transform="translate(${ox + 16},${H / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => p.y > 0);
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map((p) => `${x(p.x)},${y(p.y)}`).join(' ')}"/>`);
    for (const p of pts) {
      if (p.lo !== undefined) parts.push(`<line x1="${x(p.x)}" x2="${x(p.x)}" y1="${y(p.lo)}" y2="${y(p.hi)}" stroke="${s.color}"/>`);
      parts.push(`<circle cx="${x(p.x)}" cy="${y(p.y)}" r="3" fill="${s.color}"/>`);
    }
    const ly = M.top + 14 + 16 * i;
    parts.push(`<line x1="${ox + M.left + 10}" x2="${ox + M.left + 28}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"/>`);
    parts.push(`<text x="${ox + M.left + 34}" y="${ly}" font-size="11">${esc(s.label)}</text>`);
  });
  return parts.join('\n');
}

/** The growth figure: two panels side by side; returns `{ svg, width, height }`. */
export function growthSvg(history, segments, caption) {
  const width = 2 * W;
  const height = H + 24;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, Arial, sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
${panel(history, 0)}
${panel(segments, W)}
<text x="${width / 2}" y="${H + 16}" text-anchor="middle" font-size="11" fill="#555">${esc(caption)}</text>
</svg>`;
  return { svg, width, height };
}
