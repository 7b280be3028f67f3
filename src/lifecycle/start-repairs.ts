// What start repairs or prepares before compose runs: containers stranded on removed networks,
// missing cache folders, the healthcheck override old engines need.
import type Docker from 'dockerode';
import { join } from 'node:path';
import { StackctlError } from '../errors.js';
import type { ComposeRun } from '../effects/compose-runner.js';
import { containersOnMissingNetworks, listServiceContainers } from '../effects/containers.js';
import { createCacheFolders } from '../effects/probe/host.js';
import { hostPathsOf } from '../model/host-paths.js';
import { ensureDirectory, writeFileAtomic } from '../effects/files.js';
import { stateDirectory } from '../effects/state.js';
import type { EnvironmentModel } from '../model/environment.js';
import type { StartView } from './start-types.js';

/**
 * Containers whose network was removed while they were stopped (by `docker network prune`, say)
 * cannot start again: compose recreates the network but not them. Recreate them first (keeping
 * their volumes), so start repairs the environment instead of failing on "network not found".
 */
export async function recreateStranded(
  docker: Docker,
  project: string,
  baseArgs: readonly string[],
  run: (args: readonly string[]) => Promise<ComposeRun>,
  view: StartView,
): Promise<void> {
  const stranded = await containersOnMissingNetworks(docker, await listServiceContainers(docker, project));
  if (stranded.length === 0) return;
  const services = [...new Set(stranded.map((container) => container.service))];
  view.note(`Recreating ${services.join(', ')}: a network they were on was removed`);
  const result = await run([...baseArgs, 'up', '--no-start', '--no-deps', '--force-recreate', ...services]);
  if (result.exitCode !== 0) {
    view.composeOutput(result.output.trimEnd());
    throw new StackctlError('E_RUNTIME', `could not recreate ${services.join(', ')} on new networks`, {
      hint: 'see the compose output above',
    });
  }
}

/**
 * The cache folders the services mount (./models): created before compose runs, since Docker would
 * make them root-owned and a swarm task would fail on a missing bind source. Preflight only says so.
 */
export async function createCacheFoldersOf(
  root: string,
  model: EnvironmentModel,
  view: StartView,
): Promise<void> {
  const created = await createCacheFolders(root, hostPathsOf(model));
  const caches = created.filter((entry) => !entry.stackctlMetrics).map((entry) => entry.path);
  const metrics = created.filter((entry) => entry.stackctlMetrics).map((entry) => entry.path);
  if (caches.length > 0)
    view.note(`Created ${caches.join(', ')} (cache folder${caches.length === 1 ? '' : 's'})`);
  if (metrics.length > 0)
    view.note(`Created ${metrics.join(', ')} (stackctl's metrics, for the node exporter)`);
}

/** An override that removes start_interval from every healthcheck, for engines that reject it. */
export async function writeLegacyHealthOverride(root: string, model: EnvironmentModel): Promise<string> {
  const lines = [
    '# Written by stackctl start for a Docker engine older than API 1.44 (no start_interval).',
    'services:',
  ];
  for (const service of model.services) {
    if (!service.definition.healthcheck) continue;
    lines.push(`  ${service.name}:`, '    healthcheck:', '      start_interval: !reset null');
  }
  const folder = join(stateDirectory(root));
  await ensureDirectory(folder, 0o755);
  const path = join(folder, `legacy-health-${model.name}.yml`);
  await writeFileAtomic(path, `${lines.join('\n')}\n`);
  return path;
}
