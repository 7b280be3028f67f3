import { configFilePath } from './config-paths.js';
import { interpolate } from '../schema/interpolate.js';
import type { EnvironmentModel } from './environment.js';

/** A path on the host an environment's services need: a bind-mounted file or folder, or a build context. */
export interface HostPath {
  readonly service: string;
  /** config: a file `generate` writes for the environment (configs/<env>/...). */
  readonly kind: 'bind' | 'build' | 'config';
  /** As the schema writes it, variables applied (relative to the project folder unless absolute). */
  readonly path: string;
  /** Where it is mounted in the container (bind mounts). */
  readonly target?: string;
  /** The image a build names (compose builds only when it is not on the engine). */
  readonly image?: string;
}

/** Folders that only hold caches (model downloads): preflight creates them when missing. */
export const CACHE_FOLDERS = new Set(['models', 'cache', '.cache', 'huggingface']);

/** The bind mounts (short syntax: a source starting with . / or ~), generated config files and build contexts of an environment. Pure. */
export function hostPathsOf(model: EnvironmentModel): HostPath[] {
  const paths: HostPath[] = [];
  const resolve = (text: string): string => interpolate(text, model.values).value;
  for (const service of model.services) {
    for (const mount of service.definition.volumes ?? []) {
      const [source = '', target] = resolve(mount).split(':');
      if (!/^[./~]/.test(source)) continue; // a named volume
      paths.push({ service: service.name, kind: 'bind', path: source, ...(target ? { target } : {}) });
    }
    for (const config of service.definition.configFiles ?? []) {
      const path = `./${configFilePath(model.name, service.name, config.target)}`;
      paths.push({ service: service.name, kind: 'config', path, target: config.target });
    }
    const build = service.definition.build;
    const context = typeof build === 'string' ? build : build?.context;
    if (context !== undefined) paths.push({ service: service.name, kind: 'build', path: resolve(context) });
  }
  return paths;
}
