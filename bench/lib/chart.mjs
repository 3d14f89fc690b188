// An SVG chart written by hand (no dependencies): for each example, every request of the first
// N after start, placed at its time since start (x) with its latency (y, log scale). The gap
// before a series' first point is the time users wait.

const WIDTH = 1000;
const PANEL_HEIGHT = 190;
const MARGIN = { left: 64, right: 240, top: 34, bottom: 36 };
const FONT_FAMILY = 'font-family="system-ui, sans-serif"';
const FONT = `${FONT_FAMILY} font-size="11"`;
const font = (size) => `${FONT_FAMILY} font-size="${size}"`;

/**
 * @param {{ title: string, subtitle: string, panels: { name: string, series: { label: string,
 *   color: string, firstMs: number, requests: { atMs: number, ms: number }[] }[] }[] }} chart
 * @returns {string} the SVG document
 */
export function responseChart({ title, subtitle, panels }) {
  const height = 50 + panels.length * (PANEL_HEIGHT + 10);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="12" y="20" ${font(15)} font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="12" y="38" ${FONT} fill="#555">${escapeXml(subtitle)}</text>`,
  ];
  panels.forEach((panel, index) => {
    parts.push(drawPanel(panel, 50 + index * (PANEL_HEIGHT + 10)));
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** The chart of a benchmark run (bench/results/latest.json's content): one panel per example. */
export function benchChart(results) {
  const { machine } = results;
  return responseChart({
    title: 'Response time after start: cold start vs. restore (first requests, median round)',
    subtitle: `${machine.cpu}, ${machine.kernel}, Node ${machine.nodes.node20} (crac, plain CRIU, cold) and ${machine.nodes.node24} (compile cache); x: time since the command was started`,
    panels: results.examples.map((example) => ({ name: example.example, series: example.chart })),
  });
}

function drawPanel({ name, series }, top) {
  const x0 = MARGIN.left;
  const x1 = WIDTH - MARGIN.right;
  const y0 = top + MARGIN.top;
  const y1 = top + PANEL_HEIGHT - MARGIN.bottom + 20;
  const all = series.flatMap((s) => s.requests);
  const maxX = niceCeil(Math.max(...all.map((r) => r.atMs + r.ms), 1));
  const minY = 0.1;
  const maxY = Math.max(10, niceCeil(Math.max(...all.map((r) => r.ms))));
  const x = (ms) => x0 + ((x1 - x0) * ms) / maxX;
  const y = (ms) => y1 - ((y1 - y0) * Math.log10(Math.max(ms, minY) / minY)) / Math.log10(maxY / minY);
  const out = [`<text x="${x0}" y="${top + 22}" ${font(13)} font-weight="bold">${escapeXml(name)}</text>`];
  out.push(`<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="none" stroke="#ccc"/>`);
  for (const tick of ticks(maxX)) {
    out.push(`<line x1="${x(tick)}" x2="${x(tick)}" y1="${y0}" y2="${y1}" stroke="#eee"/>`);
    out.push(`<text x="${x(tick)}" y="${y1 + 13}" ${FONT} text-anchor="middle" fill="#555">${tick} ms</text>`);
  }
  for (let decade = minY; decade <= maxY * 1.0001; decade *= 10) {
    out.push(`<line x1="${x0}" x2="${x1}" y1="${y(decade)}" y2="${y(decade)}" stroke="#eee"/>`);
    out.push(`<text x="${x0 - 6}" y="${y(decade) + 4}" ${FONT} text-anchor="end" fill="#555">${+decade.toPrecision(2)} ms</text>`);
  }
  out.push(`<text x="${(x0 + x1) / 2}" y="${y1 + 27}" ${FONT} text-anchor="middle" fill="#555">time since the process was started</text>`);
  out.push(
    `<text x="14" y="${(y0 + y1) / 2}" ${FONT} text-anchor="middle" fill="#555" transform="rotate(-90 14 ${(y0 + y1) / 2})">latency</text>`,
  );
  series.forEach((s, index) => {
    out.push(`<line x1="${x(s.firstMs)}" x2="${x(s.firstMs)}" y1="${y0}" y2="${y1}" stroke="${s.color}" stroke-dasharray="3 3"/>`);
    const dots = s.requests.map((r) => `<circle cx="${x(r.atMs).toFixed(1)}" cy="${y(r.ms).toFixed(1)}" r="2"/>`);
    out.push(`<g fill="${s.color}" fill-opacity="0.75">${dots.join('')}</g>`);
    const ly = y0 + 12 + index * 16;
    out.push(`<rect x="${x1 + 10}" y="${ly - 8}" width="10" height="10" fill="${s.color}"/>`);
    out.push(`<text x="${x1 + 25}" y="${ly + 1}" ${FONT}>${escapeXml(`${s.label}: ${Math.round(s.firstMs)} ms`)}</text>`);
  });
  return out.join('\n');
}

function niceCeil(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function ticks(max) {
  const step = niceCeil(max / 6);
  const out = [];
  for (let tick = 0; tick <= max + 1e-9; tick += step) out.push(+tick.toPrecision(6));
  return out;
}

function escapeXml(text) {
  return String(text).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
