// A load test run as a small self-contained HTML page (summary.html beside JMeter's results): what
// ran against what, and per sampler the requests, errors, throughput and latency percentiles. Every
// JMeter version gets one; JMeter 3.0 and later also write their own dashboard. Pure.
import type { BenchRecord } from './bench.js';
import type { SamplerSummary } from './bench-summary.js';

function escape(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

export function benchReportHtml(record: BenchRecord): string {
  const row = (s: SamplerSummary, total = false): string => {
    const cells = [
      s.label,
      String(s.requests),
      String(s.errors),
      s.requests === 0 ? '0%' : `${((100 * s.errors) / s.requests).toFixed(1)}%`,
      `${String(s.throughput)}/s`,
      String(s.meanMs),
      String(s.p50Ms),
      String(s.p95Ms),
      String(s.p99Ms),
      String(s.maxMs),
    ];
    const tag = total ? 'th' : 'td';
    return `<tr${s.errors > 0 ? ' class="errors"' : ''}>${cells.map((cell) => `<${tag}>${escape(cell)}</${tag}>`).join('')}</tr>`;
  };
  const errors = record.summary.samplers.flatMap((sampler) =>
    sampler.topErrors.map(
      (error) =>
        `<li>${escape(sampler.label)}: ${String(error.count)} × ${escape([error.code, error.message].filter(Boolean).join(' '))}</li>`,
    ),
  );
  const load = record.load;
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escape(`${record.plan} against ${record.environment} · ${record.id}`)}</title>`,
    '<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}td:first-child,th:first-child{text-align:left}tr.errors{background:#fee}</style>',
    '</head><body>',
    `<h1>${escape(record.plan)} against ${escape(record.environment)}</h1>`,
    `<p>Run ${escape(record.id)}, started ${escape(record.startedAt)}: ${escape(record.target)}; ${String(load.users)} users for ${String(load.durationSeconds)} s (ramp ${String(load.rampSeconds)} s); JMeter image ${escape(record.image)}.</p>`,
    '<table><thead><tr><th>Sampler</th><th>Requests</th><th>Errors</th><th>Error rate</th><th>Throughput</th><th>Mean ms</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>Max ms</th></tr></thead><tbody>',
    ...record.summary.samplers.map((sampler) => row(sampler)),
    row(record.summary.total, true),
    '</tbody></table>',
    ...(errors.length > 0 ? ['<h2>Errors</h2>', '<ul>', ...errors, '</ul>'] : []),
    '</body></html>',
    '',
  ].join('\n');
}
