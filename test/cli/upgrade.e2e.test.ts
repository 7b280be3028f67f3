// pull, upgrade, rollback and releases against a real local registry (Debian's docker-registry) and
// a real engine: images v1 and v2 of a test service are built here and pushed under the same tag, so
// digests and pulls are real. Every failure case ends with the environment exactly as before: the
// same image ID and compose configuration hash on every container, the same page served.
import { execa } from 'execa';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stackctlCommand } from '../helpers/cli.js';
import { buildImage, pushAs, startRegistry, type Registry } from '../helpers/registry.js';
import { stackProject, type StackProject } from '../helpers/stack-project.js';
import { Terminal } from '../helpers/terminal.js';

let registry: Registry;
let project: StackProject;
let remote: string;
const local = (name: string): string => `stk252upgrade${process.pid}-${name}:1`;
const ids: Record<string, string> = {};

const ENV = 'ok';

/** image ID and config hash of every container of the environment, by container name. */
async function state(): Promise<Record<string, string>> {
  const names = (
    await execa('docker', [
      'ps',
      '-a',
      '--filter',
      `label=com.docker.compose.project=${project.name}-${ENV}`,
      '--format',
      '{{.Names}}',
    ])
  ).stdout
    .split('\n')
    .filter(Boolean)
    .sort();
  const out: Record<string, string> = {};
  for (const name of names) {
    const { stdout } = await execa('docker', [
      'inspect',
      '-f',
      '{{.Image}} {{index .Config.Labels "com.docker.compose.config-hash"}} {{.State.Status}}',
      name,
    ]);
    out[name.replace(/-\d+$/, '')] = stdout.trim();
  }
  return out;
}

async function page(): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${String(project.webPort)}/`);
  return (await response.text()).trim();
}

/** Pushes a version as the registry's web:1, as a release pipeline would; this engine's tag stays as it was. */
async function publish(version: string): Promise<void> {
  const current = await execa('docker', ['image', 'inspect', '-f', '{{.Id}}', remote], { reject: false });
  await pushAs(local(version), remote);
  if (current.exitCode === 0) await execa('docker', ['tag', current.stdout.trim(), remote]);
}

async function release(): Promise<
  {
    state: string;
    plan: { service: string; strategy: string }[];
    downtimeMs: Record<string, number>;
    rollback?: unknown;
    of?: string;
  }[]
> {
  const result = await runCli(['releases', ENV, '--json'], { cwd: project.root });
  expect(result.exitCode).toBe(0);
  return JSON.parse(result.stdout) as never;
}

/** Waits until the running upgrade's record says it started rolling out `service`. */
async function rolloutReaches(service: string): Promise<boolean> {
  const folder = join(project.root, '.stackctl', 'releases', ENV);
  for (let i = 0; i < 600; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const name of (await readdir(folder).catch(() => [] as string[])).filter((entry) =>
      entry.endsWith('.json'),
    )) {
      const record = JSON.parse(await readFile(join(folder, name), 'utf8').catch(() => '{}')) as {
        state?: string;
        started?: string[];
      };
      if (record.state === 'in-progress' && record.started?.includes(service) === true) return true;
    }
  }
  return false;
}

beforeAll(async () => {
  registry = await startRegistry();
  remote = `${registry.host}/stk/web:1`;
  const base = 'FROM stackctl-test/busybox:1\n';
  ids['v1'] = await buildImage(local('v1'), `${base}RUN echo "ok v1" > /var/www/index.html\n`);
  ids['v2'] = await buildImage(local('v2'), `${base}RUN echo "ok v2" > /var/www/index.html\n`);
  // Exits at once whatever the schema's command: a crash loop.
  ids['crash'] = await buildImage(
    local('crash'),
    `${base}ENTRYPOINT ["/bin/sh", "-c", "echo broken build; exit 1", "--"]\n`,
  );
  // Serves, but nothing at / : its healthcheck never passes.
  ids['unhealthy'] = await buildImage(local('unhealthy'), `${base}RUN rm /var/www/index.html\n`);
  // Healthy, but the page is not what verify expects.
  ids['wrong'] = await buildImage(
    local('wrong'),
    `${base}RUN echo "v2 lost its data" > /var/www/index.html\n`,
  );
  await publish('v1');
  project = await stackProject(252, (schema) =>
    schema
      .replace(/( {2}web:\n {4}stack: app\n {4}image: )stackctl-test\/busybox:1/, `$1${remote}`)
      .replace(/( {2}worker:\n {4}stack: app\n {4}image: )stackctl-test\/busybox:1/, `$1${remote}`)
      // The built environment also runs a pulled service: a pull and a build in one upgrade.
      .replace('    services: [db, hello]', '    services: [db, hello, worker]')
      .replace('    route: { path: /web/, port: 8080 }\n', () =>
        [
          '    route: { path: /web/, port: 8080 }',
          '    verify:',
          '      - http: { port: 8080, path: /, contains: ok }',
          '',
        ].join('\n'),
      ),
  );
  // db and migrate run a local image: a user marks such images as never pulled.
  await writeFile(
    join(project.root, 'compose', 'local.override.yml'),
    ['services:', '  db:', '    pull_policy: never', '  migrate:', '    pull_policy: never', ''].join('\n'),
  );
  const started = await runCli(['start', ENV, '--skip-preflight'], { cwd: project.root });
  expect(started.exitCode, started.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await project.remove();
  await registry.dispose();
  for (const version of Object.keys(ids))
    await execa('docker', ['rmi', '-f', local(version)], { reject: false });
  await execa(
    'sh',
    [
      '-c',
      `docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^(stackctl-rollback/${project.name}|${registry.host})' | xargs -r docker rmi -f`,
    ],
    {
      reject: false,
    },
  );
});

describe('pull', () => {
  it('says what a pull changed, by image ID and digest, and that the container still runs the old one', async () => {
    await publish('v2');
    const result = await runCli(['pull', ENV, '--json'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    const outcome = JSON.parse(result.stdout) as {
      changes: {
        service: string;
        changed: boolean;
        before?: { id: string };
        after?: { id: string; repoDigests: string[] };
        running?: string;
      }[];
    };
    const web = outcome.changes.find((change) => change.service === 'web');
    expect(web).toMatchObject({
      changed: true,
      before: { id: ids['v1'] },
      after: { id: ids['v2'] },
      running: ids['v1'],
    });
    expect(
      web?.after?.repoDigests.some((digest) => digest.startsWith(`${registry.host}/stk/web@sha256:`)),
    ).toBe(true);
    // db runs a local image, never pulled: left out.
    expect(outcome.changes.map((change) => change.service)).not.toContain('db');
    expect(await page()).toBe('ok v1');
    // Put v1 back for what follows.
    await publish('v1');
    await execa('docker', ['pull', '-q', remote]);
  });
});

describe('pull on a terminal', () => {
  it('shows each service as it is pulled, then the table of what changed', async () => {
    await publish('v2');
    const terminal = await Terminal.open([stackctlCommand(), 'pull', ENV], {
      cwd: project.root,
      columns: 100,
    });
    try {
      const screen = await terminal.waitFor(/New images: web, worker\./, 60_000);
      expect(screen).toMatch(/^ {2}(web|worker) Pulled/m);
      expect(screen).toMatch(/SERVICE\s+IMAGE\s+BEFORE\s+AFTER\s+DIGEST\s+RUNNING/);
      expect(screen).toMatch(/Running the old image: web, worker; roll them out .*stackctl upgrade ok/s);
      expect(await terminal.exitCode(10_000)).toBe(0);
    } finally {
      await terminal.close();
      await publish('v1');
      await execa('docker', ['pull', '-q', remote]);
    }
  }, 90_000);
});

describe('upgrade', () => {
  it('plans what it would recreate and why, and changes nothing in a dry run', async () => {
    await publish('v2');
    await execa('docker', ['pull', '-q', remote]);
    const before = await state();
    const result = await runCli(['upgrade', ENV, '--dry-run'], { cwd: project.root });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/web\s+image\s+stop-first \(it publishes a host port\)/);
    expect(result.stderr).toMatch(/worker\s+image\s+start-first \(no host port, no GPU\)/);
    expect(result.stderr).not.toMatch(/^\s+db\s/m);
    expect(result.stdout).toContain('Dry run: nothing was changed');
    expect(await state()).toEqual(before);
    expect(await release()).toEqual([]);
    await publish('v1');
    await execa('docker', ['pull', '-q', remote]);
  });

  let beforeUpgrade: Record<string, string> = {};
  it('rolls a new image out behind the health gate: stop-first for a published port, start-first without downtime', async () => {
    const before = await state();
    beforeUpgrade = before;
    await publish('v2');
    const result = await runCli(['upgrade', ENV, '--pull', '--yes', '--no-snapshot'], { cwd: project.root });
    expect(result.exitCode, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toMatch(/upgraded: release \S+; down: web \d+\.\ds/);
    expect(await page()).toBe('ok v2');
    const after = await state();
    expect(after[`${project.name}-${ENV}-web`]).toMatch(new RegExp(`^${ids['v2'] ?? ''} `));
    expect(after[`${project.name}-${ENV}-worker`]).toMatch(new RegExp(`^${ids['v2'] ?? ''} `));
    expect(after[`${project.name}-${ENV}-db`]).toBe(before[`${project.name}-${ENV}-db`]);
    const [record] = await release();
    expect(record?.state).toBe('succeeded');
    expect(record?.plan.map((step) => [step.service, step.strategy])).toEqual([
      ['web', 'stop-first'],
      ['worker', 'start-first'],
    ]);
    expect(record?.downtimeMs['worker']).toBe(0);
    expect(record?.downtimeMs['web']).toBeGreaterThan(0);
  });

  it('rollback puts the previous release back exactly, by image ID, with the same configuration hash', async () => {
    const result = await runCli(['rollback', ENV, '--yes'], { cwd: project.root });
    expect(result.exitCode, result.stderr + result.stdout).toBe(0);
    expect(await page()).toBe('ok v1');
    // Every container: the image ID and compose configuration hash it had before the upgrade.
    expect(await state()).toEqual(beforeUpgrade);
    const records = await release();
    expect(records.at(-1)).toMatchObject({ state: 'rollback' });
    // The tag names v1 again: a start now runs what ran before the upgrade.
    expect((await execa('docker', ['image', 'inspect', '-f', '{{.Id}}', remote])).stdout.trim()).toBe(
      ids['v1'],
    );
  });

  const faults: [string, string, string[], RegExp][] = [
    ['a new image that crash-loops', 'crash', [], /web (exited|crash-looping)/],
    ['a new image that never turns healthy', 'unhealthy', ['--timeout', '6s'], /web (timeout|unhealthy)/],
    [
      'a new image that is healthy but fails verify',
      'wrong',
      [],
      /verify failed: web .*does not contain "ok"/,
    ],
  ];
  for (const [what, version, flags, reason] of faults) {
    it(`rolls back ${what}, to exactly the state before`, async () => {
      const before = await state();
      await publish(version);
      const result = await runCli(['upgrade', ENV, '--pull', '--yes', '--no-snapshot', ...flags], {
        cwd: project.root,
      });
      expect(result.exitCode, result.stdout + result.stderr).toBe(1);
      expect(result.stderr).toMatch(reason);
      expect(result.stdout).toMatch(/is back on the release before/);
      expect(await state()).toEqual(before);
      expect(await page()).toBe('ok v1');
      expect((await execa('docker', ['image', 'inspect', '-f', '{{.Id}}', remote])).stdout.trim()).toBe(
        ids['v1'],
      );
      expect((await release()).at(-1)?.state).toBe('rolled-back');
      await publish('v1');
    }, 120_000);
  }

  it('rolls back a configuration change whose job exits non-zero', async () => {
    const before = await state();
    const releasesBefore = (await release()).length;
    const schemaPath = join(project.root, 'schemas', 'compose-schema.yaml');
    const schema = await readFile(schemaPath, 'utf8');
    await writeFile(
      schemaPath,
      schema.replace(`echo "migrations applied"`, `echo "migration 7 failed"; exit 1`),
    );
    try {
      // db's data is at risk (migrate writes to it) and app.yaml has no backup tier: refused first.
      const refused = await runCli(['upgrade', ENV, '--yes'], { cwd: project.root });
      expect(refused.exitCode).toBe(4);
      expect(refused.stderr).toMatch(/could write to db, and the schema declares no backup tier/);
      expect(await state()).toEqual(before);
      expect((await release()).length).toBe(releasesBefore);
      const result = await runCli(['upgrade', ENV, '--yes', '--no-snapshot'], { cwd: project.root });
      expect(result.exitCode, result.stdout + result.stderr).toBe(1);
      expect(result.stderr).toMatch(/migrate\s+config\s+stop-first \(a job runs once\)/);
      expect(result.stderr).toMatch(/migrate exited/);
      expect(await state()).toEqual(before);
    } finally {
      await writeFile(schemaPath, schema);
    }
  }, 120_000);

  it('changes nothing when the registry cannot be reached', async () => {
    const before = await state();
    await registry.stop();
    try {
      const result = await runCli(['upgrade', ENV, '--pull', '--yes', '--no-snapshot'], {
        cwd: project.root,
      });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(/docker compose pull failed: .*every image tag is back where it was/);
      expect(await state()).toEqual(before);
    } finally {
      await registry.restart();
    }
  });

  it('after kill -9 mid-rollout, rollback puts back the state before the killed release', async () => {
    const before = await state();
    await publish('unhealthy');
    const run = execa(
      stackctlCommand(),
      ['upgrade', ENV, '--pull', '--yes', '--no-snapshot', '--timeout', '5m'],
      {
        cwd: project.root,
        env: { NO_COLOR: '1' },
        reject: false,
      },
    );
    const inProgress = await rolloutReaches('web');
    expect(inProgress).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    run.kill('SIGKILL');
    await run;
    expect(await page().catch(() => 'down')).not.toBe('ok v1');
    const result = await runCli(['rollback', ENV, '--yes'], { cwd: project.root });
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(await state()).toEqual(before);
    expect(await page()).toBe('ok v1');
    const records = await release();
    expect(records.at(-2)?.state).toBe('rolled-back');
    await publish('v1');
  }, 120_000);

  it('rolls back when interrupted with Ctrl-C, and exits 130', async () => {
    const before = await state();
    await publish('unhealthy');
    const run = execa(
      stackctlCommand(),
      ['upgrade', ENV, '--pull', '--yes', '--no-snapshot', '--timeout', '5m'],
      {
        cwd: project.root,
        env: { NO_COLOR: '1' },
        reject: false,
      },
    );
    expect(await rolloutReaches('web')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    run.kill('SIGINT');
    const result = await run;
    expect(result.exitCode, String(result.stdout) + String(result.stderr)).toBe(130);
    expect(String(result.stderr)).toMatch(/interrupted \(Ctrl-C\): rolling back/);
    expect(await state()).toEqual(before);
    await publish('v1');
  }, 120_000);
});

describe('verify', () => {
  it('runs the declared checks against the running replicas and writes JUnit and Allure results', async () => {
    const result = await runCli(
      ['verify', ENV, '--junit', 'reports/verify.xml', '--allure', 'reports/allure'],
      {
        cwd: project.root,
      },
    );
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(`✔ ${project.name}-${ENV}-web-\\d+\\s+GET :8080/ → 2xx containing "ok"`),
    );
    expect(result.stdout).toContain('no checks declared: db, migrate, worker');
    const junit = await readFile(join(project.root, 'reports', 'verify.xml'), 'utf8');
    expect(junit).toMatch(/<testsuite name="ok.web" tests="1" failures="0" errors="0"/);
    const allure = await readdir(join(project.root, 'reports', 'allure'));
    expect(allure).toHaveLength(1);
    const [first] = allure;
    const body = JSON.parse(await readFile(join(project.root, 'reports', 'allure', first ?? ''), 'utf8')) as {
      status: string;
      labels: { name: string; value: string }[];
    };
    expect(body.status).toBe('passed');
    expect(body.labels).toContainEqual({ name: 'subSuite', value: 'web' });
  });

  it('fails (exit 1) naming the check that did not pass', async () => {
    const web = (
      await execa('docker', [
        'ps',
        '-q',
        '--filter',
        `label=com.docker.compose.project=${project.name}-${ENV}`,
        '--filter',
        'label=com.docker.compose.service=web',
      ])
    ).stdout.trim();
    await execa('docker', ['exec', web, 'rm', '-f', '/var/www/index.html']);
    const result = await runCli(['verify', ENV, '--json'], { cwd: project.root });
    expect(result.exitCode).toBe(1);
    const outcome = JSON.parse(result.stdout) as {
      passed: boolean;
      results: { status: string; detail: string }[];
    };
    expect(outcome.passed).toBe(false);
    expect(outcome.results[0]).toMatchObject({ status: 'failed', detail: 'answered 404, expected 2xx' });
  });
});

describe('build', () => {
  const BUILT = 'built';
  const context = (): string => join(project.root, 'services', 'hello');
  const helloImage = async (): Promise<string> =>
    (
      await execa('docker', [
        'inspect',
        '-f',
        '{{.Image}}',
        (
          await execa('docker', [
            'ps',
            '-q',
            '--filter',
            `label=com.docker.compose.project=${project.name}-${BUILT}`,
            '--filter',
            'label=com.docker.compose.service=hello',
          ])
        ).stdout.trim(),
      ])
    ).stdout.trim();

  it('names a missing build context with the fix, before compose runs', async () => {
    const result = await runCli(['build', BUILT], { cwd: project.root });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/services\/hello: build context of hello is missing/);
    expect(result.stderr).toMatch(/clone the service's code there/);
  });

  it('builds, says what changed, and upgrade --build rolls the new build out', async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(context(), { recursive: true });
    await writeFile(join(context(), 'Dockerfile'), 'FROM stackctl-test/busybox:1\nRUN echo one > /version\n');
    const started = await runCli(['start', BUILT, '--skip-preflight'], { cwd: project.root });
    expect(started.exitCode, started.stderr).toBe(0);
    const first = await helloImage();
    await writeFile(join(context(), 'Dockerfile'), 'FROM stackctl-test/busybox:1\nRUN echo two > /version\n');
    const built = await runCli(['build', BUILT, '--json'], { cwd: project.root });
    expect(built.exitCode, built.stderr).toBe(0);
    const outcome = JSON.parse(built.stdout) as {
      changes: {
        service: string;
        changed: boolean;
        before?: { id: string };
        after?: { id: string };
        running?: string;
      }[];
    };
    expect(outcome.changes).toHaveLength(1);
    expect(outcome.changes[0]).toMatchObject({
      service: 'hello',
      changed: true,
      before: { id: first },
      running: first,
    });
    const upgraded = await runCli(['upgrade', BUILT, '--yes', '--no-snapshot'], { cwd: project.root });
    expect(upgraded.exitCode, upgraded.stdout + upgraded.stderr).toBe(0);
    expect(upgraded.stderr).toMatch(/hello\s+image\s+start-first/);
    expect(await helloImage()).toBe(outcome.changes[0]?.after?.id);
  }, 180_000);

  it('puts every image tag back when a build fails after a pull succeeded', async () => {
    const builtState = async (): Promise<string> =>
      (
        await execa('docker', [
          'ps',
          '-a',
          '--filter',
          `label=com.docker.compose.project=${project.name}-${BUILT}`,
          '--format',
          '{{.Names}} {{.Image}} {{.Label "com.docker.compose.config-hash"}}',
        ])
      ).stdout
        .split('\n')
        .sort()
        .join('\n');
    const before = await builtState();
    const pulledBefore = (await execa('docker', ['image', 'inspect', '-f', '{{.Id}}', remote])).stdout.trim();
    await publish('v2');
    await writeFile(
      join(context(), 'Dockerfile'),
      'FROM stackctl-test/busybox:1\nRUN echo "broken build" && false\n',
    );
    try {
      const result = await runCli(['upgrade', BUILT, '--pull', '--build', '--yes', '--no-snapshot'], {
        cwd: project.root,
      });
      expect(result.exitCode, result.stdout + result.stderr).toBe(1);
      expect(result.stderr).toMatch(/docker compose build failed: .*; every image tag is back where it was/);
      // The pull had moved web:1 to v2; it names what it named before again.
      expect((await execa('docker', ['image', 'inspect', '-f', '{{.Id}}', remote])).stdout.trim()).toBe(
        pulledBefore,
      );
      expect(await builtState()).toBe(before);
    } finally {
      await publish('v1');
    }
  }, 120_000);
});
