import { posix } from 'node:path';

/** The folder generated config files live under, per environment and service. */
export const CONFIGS_DIR = 'configs';

/** Where an environment's config file for a service lies, relative to the project root. */
export function configFilePath(environment: string, service: string, target: string): string {
  return posix.join(CONFIGS_DIR, environment, service, posix.basename(target));
}
