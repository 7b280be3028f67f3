const { readFileSync, readdirSync } = require('node:fs');
const { SourceMapConsumer } = require('source-map-js');
const map = new SourceMapConsumer(JSON.parse(readFileSync('/work/main/dist/stackctl.cjs.map', 'utf8')));
const dir = process.argv[2]; const depthMax = Number(process.argv[3] ?? 6); const min = Number(process.argv[4] ?? 1);
const files = readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'));
const acc = new Map();
for (const f of files) {
  const p = JSON.parse(readFileSync(dir + '/' + f));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + p.timeDeltas[i]);
  const label = (n) => { const cf = n.callFrame; if (!cf.url.endsWith('stackctl.cjs')) return (cf.functionName || '(anon)') + ' ' + cf.url.replace(/.*\//, ''); const pos = map.originalPositionFor({ line: cf.lineNumber + 1, column: cf.columnNumber }); return (pos.name || cf.functionName || '(anon)') + ' ' + (pos.source || '?').replace(/.*\/(src|node_modules)\//, '$1/') + ':' + pos.line; };
  const incl = (n) => (self.get(n.id) ?? 0) + (n.children ?? []).reduce((a, c) => a + incl(byId.get(c)), 0);
  const walk = (n, d, path) => { const l = label(n); if (l.startsWith('(anon) ?:null') || l.startsWith('require helpers') || l.startsWith('Module.') || l.startsWith('loadBuiltin') || l.startsWith('compileForPublic') || l.startsWith('requireBuiltin')) { for (const c of n.children ?? []) walk(byId.get(c), d, path); return; } const key = path + '\u0000' + l; acc.set(key, (acc.get(key) ?? 0) + incl(n)); if (d < depthMax) for (const c of n.children ?? []) walk(byId.get(c), d + 1, key); };
  walk(p.nodes[0], 0, '');
}
const rows = [...acc].filter(([, v]) => v / files.length / 1000 >= min).sort((a, b) => (a[0] < b[0] ? -1 : 1));
for (const [k, v] of rows) { const parts = k.split('\u0000'); console.log((v / files.length / 1000).toFixed(1).padStart(6), '  '.repeat(parts.length - 2) + parts.at(-1)); }
