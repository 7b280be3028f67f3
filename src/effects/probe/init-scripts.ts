// PostgreSQL init scripts an environment mounts (/docker-entrypoint-initdb.d/*.sql): the extensions
// each creates, and whether the service's image has them. An image without one stops at its first
// start (`CREATE EXTENSION vector` fails), long after the start began; preflight says it first.
import type Docker from 'dockerode';
import { execa } from 'execa';
import { resolve } from 'node:path';
import type { HostPathFact, InitScriptFact } from '../../host/facts.js';
import { createdExtensions } from '../../host/sql-extensions.js';
import type { EnvironmentModel } from '../../model/environment.js';
import { interpolate } from '../../schema/interpolate.js';
import { dockerCliEnvironment } from '../docker.js';
import { markedScript, wholeOutput } from '../one-off-output.js';
import { readRegularText } from '../files.js';

const INIT_FOLDER = '/docker-entrypoint-initdb.d/';

/** Where PostgreSQL images keep extension control files: Debian's packages, and the official image. */
const HAS_EXTENSIONS_SCRIPT =
  'for name; do for dir in /usr/share/postgresql/*/extension /usr/local/share/postgresql/extension; do [ -f "$dir/$name.control" ] && { echo "$name"; break; }; done; done; exit 0';

export async function probeInitScripts(
  model: EnvironmentModel,
  root: string,
  hostPaths: readonly HostPathFact[],
  docker: Docker | undefined,
  env: NodeJS.ProcessEnv,
): Promise<InitScriptFact[]> {
  const facts: InitScriptFact[] = [];
  for (const entry of hostPaths) {
    if (
      entry.kind !== 'bind' ||
      !entry.exists ||
      !entry.target?.startsWith(INIT_FOLDER) ||
      !entry.target.endsWith('.sql')
    )
      continue;
    const text = await readRegularText(resolve(root, entry.path)).catch(() => undefined);
    const extensions = createdExtensions(text ?? '');
    if (extensions.length === 0) continue;
    const service = model.services.find((candidate) => candidate.name === entry.service);
    const image = interpolate(service?.definition.image ?? '', model.values).value;
    const present =
      docker !== undefined &&
      image !== '' &&
      (await docker
        .getImage(image)
        .inspect()
        .then(
          () => true,
          () => false,
        ));
    let missing: string[] | undefined;
    if (present) {
      const found = await wholeOutput(
        () =>
          execa(
            'docker',
            [
              'run',
              '--rm',
              '--network',
              'none',
              '--entrypoint',
              'sh',
              image,
              '-c',
              markedScript(HAS_EXTENSIONS_SCRIPT),
              'probe',
              ...extensions,
            ],
            { env: dockerCliEnvironment(env), reject: false, timeout: 30_000 },
          ),
        `the extensions of ${image}`,
      ).catch(() => undefined);
      if (found?.result.exitCode === 0) {
        const have = new Set(found.output.split('\n').filter(Boolean));
        missing = extensions.filter((name) => !have.has(name));
      }
    }
    facts.push({ service: entry.service, path: entry.path, image, extensions, missing });
  }
  return facts;
}
