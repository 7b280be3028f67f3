// Replicated services lose their host ports; the nginx stackctl generates reaches every replica
// (issue 14). Real nginx (stackctl-test/nginx:1, built from Debian's packages, swapped in through
// the user overlay) in front of two replicas of the test stack's web service.
import { execa } from 'execa';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/project.js';
import { USER_OVERLAY, stackProject, type StackProject } from '../helpers/stack-project.js';

let project: StackProject;
let proxyPort: number;

beforeAll(async () => {
  project = await stackProject(248);
  proxyPort = await freePort();
  await writeFile(
    join(project.root, 'compose', 'local.override.yml'),
    `${USER_OVERLAY}  proxy:\n    image: stackctl-test/nginx:1\n    ports: ['127.0.0.1:${proxyPort}:80']\n`,
  );
}, 60_000);
afterAll(() => project.remove());

const containersOf = async (service: string): Promise<string[]> =>
  (
    await execa('docker', [
      'ps',
      '-q',
      '--filter',
      `label=com.docker.compose.project=${project.name}-proxied`,
      '--filter',
      `label=com.docker.compose.service=${service}`,
    ])
  ).stdout
    .split('\n')
    .filter(Boolean);

describe('a replicated service behind the generated nginx', () => {
  it('is reached on every replica through nginx, which passes nginx -t', async () => {
    const started = await runCli(['start', 'proxied', '--settle', '0s'], { cwd: project.root });
    expect(started.exitCode, started.stderr).toBe(0);

    const webs = await containersOf('web');
    expect(webs).toHaveLength(2);
    const hostnames = new Set<string>();
    for (const id of webs) {
      const info = JSON.parse((await execa('docker', ['inspect', id])).stdout) as {
        Config: { Hostname: string };
        NetworkSettings: { Ports: Record<string, unknown[] | null> };
      }[];
      hostnames.add(info[0]?.Config.Hostname ?? '');
      // No host port: replicas could not share one.
      expect(
        Object.values(info[0]?.NetworkSettings.Ports ?? {}).filter((bindings) => bindings !== null),
      ).toEqual([]);
    }

    const [proxy] = await containersOf('proxy');
    const checked = await execa('docker', ['exec', proxy ?? '', 'nginx', '-t'], { reject: false });
    expect(checked.stderr).toContain('test is successful');

    const health = await fetch(`http://127.0.0.1:${proxyPort}/health`);
    expect(await health.text()).toBe('ok\n');
    const answered = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const response = await fetch(`http://127.0.0.1:${proxyPort}/web/`);
      expect(response.status).toBe(200);
      answered.add((await response.text()).trim());
    }
    expect(answered).toEqual(hostnames);
  }, 120_000);
});
