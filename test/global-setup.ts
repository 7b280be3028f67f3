// Before any test: the JSON Schema validator is generated at build time, so make sure it exists and
// is current (`npx vitest` works on a fresh clone too); and the images the engine-backed tests run
// are built locally when missing (nothing is pulled), so `npm test` works on a fresh machine; the
// engine joins a single-node swarm of its own for the swarm tests.
import { execa } from 'execa';
import { join } from 'node:path';
import { generateAll } from '../scripts/generate-sources.mjs';
import { REPO_ROOT } from './helpers/paths.js';

export async function setup(): Promise<void> {
  await generateAll();
  const engine = await execa('docker', ['info'], { reject: false });
  if (engine.exitCode !== 0) return; // the tests that need it say so themselves
  await execa(join(REPO_ROOT, '.ci', 'build-test-images.sh'), { stdio: 'inherit' });
  // The swarm tests deploy to the engine's own single-node swarm.
  const swarm = await execa('docker', ['info', '--format', '{{.Swarm.LocalNodeState}}'], { reject: false });
  if (swarm.stdout.trim() === 'inactive')
    await execa('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1'], { stdio: 'inherit' });
}
