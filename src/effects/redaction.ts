import type Docker from 'dockerode';
import { redactor, secretBearingNames } from '../generate/redact.js';
import type { StackFile } from '../schema/types.js';
import type { ContainerSummary } from './containers.js';
import { readSecretHistory } from './secret-store.js';

/**
 * A redactor for what an environment's containers print: every value the secret store and its
 * backups hold, and every secret value the containers still run with (a container created before
 * a rotation keeps the old one until it is recreated).
 */
export async function environmentRedactor(
  docker: Docker,
  root: string,
  file: StackFile,
  environment: string,
  containers: readonly ContainerSummary[],
): Promise<(text: string) => string> {
  const values = await readSecretHistory(root, environment);
  for (const container of containers) {
    const names = secretBearingNames(file, container.service);
    const env = await docker
      .getContainer(container.id)
      .inspect()
      .then((info) => info.Config.Env ?? [])
      .catch(() => [] as string[]);
    for (const entry of env) {
      const split = entry.indexOf('=');
      if (split > 0 && names.has(entry.slice(0, split))) values.push(entry.slice(split + 1));
    }
  }
  return redactor(values);
}
