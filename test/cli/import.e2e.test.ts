// stackctl import on real files of the original project (../shared/fixtures/original, copied into
// test/fixtures/original, see its SOURCES.md): every schema version imports into a project that validates, generates
// and that docker compose accepts; every secret value is kept; an existing PostgreSQL volume still
// opens with its original password (real PostgreSQL built from Debian's packages) (issue 18).
import { execa } from 'execa';
import {
  cp,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/project.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { removeByLabel } from '../helpers/stack-project.js';

const ORIGINAL = join(REPO_ROOT, 'test', 'fixtures', 'original');
const SCHEMAS = (await readdir(ORIGINAL)).filter((name) => /^compose-schema\..+\.yaml$/.test(name)).sort();
const scratch: string[] = [];
afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

/** An original project as users have it on disk: the schema, configs/, env-templates/, secrets/. */
async function originalProject(
  schemaFile: string,
  transform: (text: string) => string = (t) => t,
): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'stackctl-original-'));
  scratch.push(root);
  await mkdir(join(root, 'schemas'));
  await mkdir(join(root, 'configs'));
  await writeFile(
    join(root, 'schemas', 'compose-schema.yaml'),
    transform(await readFile(join(ORIGINAL, schemaFile), 'utf8')),
  );
  await cp(
    join(ORIGINAL, 'environment_schema.39c2f8d.yaml'),
    join(root, 'configs', 'environment_schema.yaml'),
  );
  await cp(join(ORIGINAL, 'env-templates'), join(root, 'env-templates'), { recursive: true });
  await mkdir(join(root, 'secrets'), { mode: 0o700 });
  await cp(
    join(ORIGINAL, 'generated-staging', 'env.staging.json'),
    join(root, 'secrets', '.env.staging.json'),
  );
  await cp(
    join(ORIGINAL, 'generated-staging', 'env.staging.metadata'),
    join(root, 'secrets', '.env.staging.metadata'),
  );
  return root;
}

async function outFolder(): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), 'stackctl-imported-'));
  scratch.push(out);
  return out;
}

interface ImportJson {
  written: string[];
  kept: { secrets: number; volumes: string[] };
  report: { severity: string; file: string; line: number; message: string; action: string }[];
}

const originalSecrets = async (): Promise<Record<string, string>> =>
  JSON.parse(await readFile(join(ORIGINAL, 'generated-staging', 'env.staging.json'), 'utf8')) as Record<
    string,
    string
  >;

async function composeAccepts(out: string, env: string): Promise<void> {
  const generated = JSON.parse((await runCli(['generate', env, '--json'], { cwd: out })).stdout) as {
    environments: { composeFiles: string[] }[];
  };
  const files = generated.environments[0]?.composeFiles ?? [];
  const result = await execa(
    'docker',
    [
      'compose',
      '--project-directory',
      out,
      '--env-file',
      join(out, `.env.${env}`),
      ...files.flatMap((f) => ['-f', join(out, f)]),
      'config',
      '-q',
    ],
    { reject: false },
  );
  expect(result.stderr, `${env}: ${result.stderr}`).toBe('');
  expect(result.exitCode, env).toBe(0);
}

describe('stackctl import', () => {
  it.each(SCHEMAS)(
    '%s: validates, generates, compose accepts every environment, every secret kept',
    async (schemaFile) => {
      const from = await originalProject(schemaFile);
      const out = await outFolder();
      const result = await runCli(['import', '--from', from, '--out', out, '--json']);
      expect(result.exitCode, result.stderr).toBe(0);
      const report = JSON.parse(result.stdout) as ImportJson;
      expect(report.written).toContain('schemas/compose-schema.yaml');
      expect(report.written).toContain('secrets/.env.staging.json');
      // Every entry says where and what to do.
      for (const entry of report.report) {
        expect(entry.file).not.toBe('');
        expect(entry.line).toBeGreaterThan(0);
        expect(entry.action).not.toBe('');
      }
      expect(report.report.some((e) => e.message.includes('container_name'))).toBe(true);

      expect((await runCli(['validate'], { cwd: out })).exitCode).toBe(0);
      // The original's first-run flow (wipe development, fresh secrets, start).
      expect(await readFile(join(out, 'schemas', 'compose-schema.yaml'), 'utf8')).toMatch(
        /^firstRun:\n(?: {2}.*\n)*? {2}environment: development$/m,
      );
      const generated = await runCli(['generate', '--all'], { cwd: out });
      expect(generated.exitCode, generated.stderr).toBe(0);
      // The original templates' layout, converted: their sections, each variable once, with its value.
      const envFile = await readFile(join(out, '.env.staging'), 'utf8');
      expect(envFile).toContain('# DATABASE CONFIGURATION');
      expect(envFile.match(/^POSTGRES_PASSWORD=/gm)).toHaveLength(1);
      expect(envFile.indexOf('POSTGRES_DB=')).toBeLessThan(envFile.indexOf('LITELLM_MASTER_KEY='));
      expect(await readFile(join(out, 'original', 'env-templates', 'core.env.j2'), 'utf8')).toContain(
        'vault_postgres_password',
      );
      const environments = Object.keys(
        (
          JSON.parse((await runCli(['generate', '--all', '--json'], { cwd: out })).stdout) as {
            environments: { name: string }[];
          }
        ).environments.reduce((all, env) => ({ ...all, [env.name]: true }), {}),
      );
      expect(environments.length).toBeGreaterThanOrEqual(4);
      for (const env of environments) await composeAccepts(out, env);

      // The store holds exactly the original values (and the import printed none of them).
      const original = await originalSecrets();
      const store = JSON.parse(await readFile(join(out, 'secrets', '.env.staging.json'), 'utf8')) as {
        secrets: Record<string, { value: string }>;
      };
      for (const [name, value] of Object.entries(original)) {
        if (value === '') continue;
        expect(store.secrets[name]?.value, name).toBe(value);
        expect(result.stdout).not.toContain(value);
        expect(result.stderr).not.toContain(value);
      }
      expect(report.kept.secrets).toBe(Object.values(original).filter((v) => v !== '').length);
    },
    120_000,
  );

  it('goes on through sections a later version adds, reporting what it did not understand', async () => {
    const from = await originalProject('compose-schema.4edc0d7.yaml', (text) =>
      [
        text,
        'stacks:',
        '  data: { services: [postgres, redis, qdrant, minio] }',
        'alerting:',
        '  slack: { channel: ops }',
        '',
      ].join('\n'),
    );
    const out = await outFolder();
    const result = await runCli(['import', '--from', from, '--out', out, '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as ImportJson;
    expect(report.report).toContainEqual(
      expect.objectContaining({ severity: 'warning', message: 'section "alerting" is not understood' }),
    );
    const schema = await readFile(join(out, 'schemas', 'compose-schema.yaml'), 'utf8');
    expect(schema).toMatch(/^ {2}postgres:\n {4}stack: data$/m);
  }, 60_000);

  it('--dry-run writes nothing; an existing stackctl schema is replaced only with --force', async () => {
    const from = await originalProject('compose-schema.4edc0d7.yaml');
    const out = await outFolder();
    const dry = await runCli(['import', '--from', from, '--out', out, '--dry-run', '--json']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(await readdir(out)).toEqual([]);
    expect((await runCli(['import', '--from', from, '--out', out])).exitCode).toBe(0);
    const again = await runCli(['import', '--from', from, '--out', out]);
    expect(again.exitCode).toBe(4);
    expect(again.stderr).toContain('already exists; nothing was written');
    // A value rotated since the first import: --force replaces the store, and keeps the old one aside.
    const storePath = join(out, 'secrets', '.env.staging.json');
    const store = JSON.parse(await readFile(storePath, 'utf8')) as {
      secrets: Record<string, { value: string }>;
    };
    store.secrets['POSTGRES_PASSWORD'] = {
      ...store.secrets['POSTGRES_PASSWORD'],
      value: 'rotated-since-import-1',
    };
    await writeFile(storePath, JSON.stringify(store), { mode: 0o600 });
    const forced = await runCli(['import', '--from', from, '--out', out, '--force', '--json']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    const replaced = (JSON.parse(forced.stdout) as { replaced: { files: string[]; keptIn: string } })
      .replaced;
    expect(replaced.files).toContain('secrets/.env.staging.json');
    const keptStore = join(out, replaced.keptIn, 'secrets', '.env.staging.json');
    expect(await readFile(keptStore, 'utf8')).toContain('rotated-since-import-1');
    expect((await stat(keptStore)).mode & 0o777).toBe(0o600);
    expect((await stat(join(out, replaced.keptIn))).mode & 0o777).toBe(0o700);
  }, 60_000);

  it('says no engine answered, not that the volumes are missing, when Docker cannot be reached', async () => {
    const from = await originalProject('compose-schema.4edc0d7.yaml');
    const out = await outFolder();
    const result = await runCli(['import', '--from', from, '--out', out, '--json'], {
      env: { DOCKER_HOST: `unix://${join(out, 'no-such.sock')}` },
    });
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as ImportJson;
    const messages = report.report.map((entry) => entry.message).join('\n');
    expect(messages).toContain('no Docker engine answered');
    expect(messages).toContain('(assumed: no engine answered)');
    expect(messages).not.toContain('not found on this engine');
  }, 60_000);

  it('refuses a schema that expands into a billion aliases with one line, writing nothing', async () => {
    const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let level = 1; level < 9; level++) {
      const previous = String.fromCharCode(96 + level);
      const name = String.fromCharCode(97 + level);
      laughs.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
    }
    const from = await originalProject('compose-schema.4edc0d7.yaml', () => `${laughs.join('\n')}\n`);
    const out = await outFolder();
    const result = await runCli(['import', '--from', from, '--out', out]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('schemas/compose-schema.yaml expands too many YAML aliases');
    expect(result.stderr).not.toContain('unexpected');
    expect(await readdir(out)).toEqual([]);
  }, 60_000);

  it('never writes over the original project itself without --force', async () => {
    const from = await originalProject('compose-schema.4edc0d7.yaml');
    const before = await readFile(join(from, 'schemas', 'compose-schema.yaml'), 'utf8');
    const result = await runCli(['import', '--from', from, '--out', from]);
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toContain('--out is the original project itself');
    expect(await readFile(join(from, 'schemas', 'compose-schema.yaml'), 'utf8')).toBe(before);
  }, 60_000);

  it('reads nothing through a link out of the project, nor a FIFO or a huge file, and writes all or nothing', async () => {
    const from = await originalProject('compose-schema.4edc0d7.yaml');
    const outside = await outFolder();
    await writeFile(join(outside, 'shadow'), 'root:$6$secret-hash-zz:19000:0:99999:7:::\n');
    await symlink(join(outside, 'shadow'), join(from, 'env-templates', 'linked.env.j2'));
    await execa('mkfifo', [join(from, 'env-templates', 'fifo.env.j2')]);
    await writeFile(join(from, 'env-templates', 'huge.env.j2'), '');
    await truncate(join(from, 'env-templates', 'huge.env.j2'), 64 * 1024 * 1024);
    const out = await outFolder();
    const result = await runCli(['import', '--from', from, '--out', out, '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as ImportJson;
    const about = (file: string): string | undefined =>
      report.report.find((entry) => entry.file === file)?.message;
    expect(about('env-templates/linked.env.j2')).toMatch(/leads outside/);
    expect(about('env-templates/fifo.env.j2')).toMatch(/FIFO/);
    expect(about('env-templates/huge.env.j2')).toMatch(/67108864 bytes/);
    expect(await readdir(join(out, 'original', 'env-templates'))).not.toContain('linked.env.j2');
    expect(JSON.stringify(report)).not.toContain('secret-hash-zz');

    // A write that fails part-way takes back what it wrote: a folder where a template must go.
    const blocked = await outFolder();
    await mkdir(join(blocked, 'env-templates', 'master.env.j2'), { recursive: true });
    const failed = await runCli(['import', '--from', from, '--out', blocked]);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain('what it had written was taken back');
    expect(await readdir(blocked)).not.toContain('schemas');
    expect(await readdir(join(blocked, 'secrets')).catch(() => [])).toEqual([]);
  }, 60_000);

  it('mounts the existing PostgreSQL volume, which still opens with its original password', async () => {
    const project = `imp${process.pid}`;
    const volume = `${project}_postgres_data`;
    const original = await originalSecrets();
    const password = original['POSTGRES_PASSWORD'] ?? '';
    // The original installation's database: made by the PostgreSQL image from the original values.
    await execa('docker', ['volume', 'create', volume]);
    try {
      const init = await execa(
        'docker',
        [
          'run',
          '-d',
          '--name',
          `${project}-init`,
          '-e',
          'POSTGRES_USER=postgres',
          '-e',
          'POSTGRES_PASSWORD',
          '-e',
          'POSTGRES_DB=multimodal',
          '-v',
          `${volume}:/var/lib/postgresql/data`,
          'stackctl-test/postgres:3',
        ],
        { env: { POSTGRES_PASSWORD: password } },
      );
      const id = init.stdout.trim();
      // The entrypoint initialises with a temporary server first, as the official image does: the
      // table is made once the real server answers.
      let seeded = { exitCode: -1 as number | undefined, stderr: '' };
      for (let i = 0; seeded.exitCode !== 0 && i < 150; i++) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, 200));
        const attempt = await execa(
          'docker',
          [
            'exec',
            '-u',
            'postgres',
            id,
            'psql',
            '-U',
            'postgres',
            '-d',
            'multimodal',
            '-c',
            "create table history (v text); insert into history values ('from the original stack')",
          ],
          { reject: false },
        );
        seeded = { exitCode: attempt.exitCode, stderr: String(attempt.stderr) };
      }
      expect(seeded.exitCode, seeded.stderr).toBe(0);
      await execa('docker', ['rm', '-f', id]);

      const from = await originalProject('compose-schema.4edc0d7.yaml', (text) =>
        text.replace('project_name: "multimodal"', `project_name: "${project}"`),
      );
      const out = await outFolder();
      const imported = await runCli(['import', '--from', from, '--out', out, '--json']);
      expect(imported.exitCode, imported.stderr).toBe(0);
      expect((JSON.parse(imported.stdout) as ImportJson).kept.volumes).toContain(volume);

      await mkdir(join(out, 'compose'), { recursive: true });
      await writeFile(
        join(out, 'compose', 'local.override.yml'),
        [
          'services:',
          '  postgres:',
          '    image: stackctl-test/postgres:3',
          `    ports: !override ['127.0.0.1:${await freePort()}:5432']`,
          '',
        ].join('\n'),
      );
      const started = await runCli(
        ['start', 'staging', '--service', 'postgres', '--skip-preflight', '--settle', '0s'],
        { cwd: out },
      );
      expect(started.exitCode, started.stderr).toBe(0);
      const read = await execa(
        'docker',
        [
          'exec',
          '-e',
          'PGPASSWORD',
          `${project}-staging-postgres-1`,
          'psql',
          '-h',
          '127.0.0.1',
          '-U',
          'postgres',
          '-d',
          'multimodal',
          '-tAc',
          'select v from history',
        ],
        { env: { PGPASSWORD: password }, reject: false },
      );
      expect(read.stderr).toBe('');
      expect(read.stdout).toBe('from the original stack');
      // stackctl never removes data it did not create: a wipe leaves the original volume.
      expect((await runCli(['wipe', 'staging', '--yes'], { cwd: out })).exitCode).toBe(0);
      expect((await execa('docker', ['volume', 'inspect', volume], { reject: false })).exitCode).toBe(0);
    } finally {
      await removeByLabel(`io.stackctl.project=${project}`);
      await execa('docker', ['rm', '-f', `${project}-init`], { reject: false });
      await execa('docker', ['volume', 'rm', '-f', volume], { reject: false });
    }
  }, 180_000);
});
