import { execa } from 'execa';
import { join } from 'node:path';

export interface GeneratedEnvironment {
  name: string;
  envFile: string;
  composeFiles: string[];
}

/** Runs `docker compose config` on a generated file set, from the project root. */
export async function composeConfig(root: string, env: GeneratedEnvironment, extra: string[] = []) {
  const args = ['compose', '--project-directory', root, '--env-file', join(root, env.envFile)];
  for (const file of env.composeFiles) args.push('-f', join(root, file));
  return execa('docker', [...args, 'config', ...extra], { reject: false, cwd: root });
}
