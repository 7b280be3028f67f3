// What git says of a checkout: the files it tracks that must never be committed, and which paths
// its ignore rules cover. Read-only: stackctl never changes a repository.
import { execa } from 'execa';

/**
 * Generated env files and secret stores git tracks, and every tracked YAML file holding a
 * Kubernetes Secret in clear; undefined when `root` is not a git checkout.
 */
export async function trackedSecretFiles(
  root: string,
  env: NodeJS.ProcessEnv,
): Promise<string[] | undefined> {
  const listed = await execa('git', ['ls-files', '-z', '--', '.env.*', 'secrets', 'k8s-secrets-*.yaml'], {
    cwd: root,
    reject: false,
    env,
  });
  if (listed.exitCode !== 0) return undefined;
  const manifests = await execa(
    'git',
    ['grep', '--cached', '-l', '-z', '-E', '^kind: *Secret *$', '--', '*.yaml', '*.yml'],
    { cwd: root, reject: false, env },
  );
  return [
    ...new Set([
      ...listed.stdout.split('\0'),
      ...(manifests.exitCode === 0 ? manifests.stdout.split('\0') : []),
    ]),
  ].filter((path) => path !== '');
}

/** Of these paths (relative to `root`), the ones git's ignore rules cover, tracked or not. */
export async function ignoredPaths(
  root: string,
  paths: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<Set<string>> {
  const ignored = await execa('git', ['check-ignore', '--no-index', ...paths], {
    cwd: root,
    reject: false,
    env,
  });
  return new Set(ignored.stdout.split('\n').filter(Boolean));
}
