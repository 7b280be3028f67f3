// Where stackctl keeps the stack file of an environment it deployed to a swarm. Its presence is
// also what tells status that asking the engine for swarm services is worth a request.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

export function swarmStackPath(root: string, envName: string): string {
  return join(root, '.stackctl', 'swarm', `${envName}.yml`);
}

/** The environments of this project that have been deployed to a swarm from here. */
export async function environmentsDeployedToSwarm(root: string): Promise<string[]> {
  const names = await readdir(join(root, '.stackctl', 'swarm')).catch(() => [] as string[]);
  return names.filter((name) => name.endsWith('.yml')).map((name) => name.slice(0, -'.yml'.length));
}
