// stackctl import over the whole history of the original project (issue 25): every commit of
// test/fixtures/original/llm-multimodal-stack.bundle that changes schemas/compose-schema.yaml, and
// every branch and pull-request head that carries it, checked out whole as a user has it, after
// that checkout's own setup_secrets.py has run (secrets/.env.<env>.json, .env.<env>, .env.d/).
// Each imports into a project that validates and generates every environment, compose accepts
// each one, and every credential value is kept.
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';

const BUNDLE = join(REPO_ROOT, 'test', 'fixtures', 'original', 'llm-multimodal-stack.bundle');
const scratch = await mkdtemp(join(tmpdir(), 'stackctl-history-'));
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

// Every ref of the bundle (pull-request refs too): a mirror clone, no network.
const mirror = join(scratch, 'mirror.git');
await execa('git', ['clone', '--quiet', '--mirror', BUNDLE, mirror]);
const git = async (...args: string[]): Promise<string> =>
  (await execa('git', ['-C', mirror, ...args])).stdout.trim();
const changing = (await git('log', '--all', '--format=%h', '--', 'schemas/compose-schema.yaml')).split('\n');
const heads: string[] = [];
for (const line of (await git('for-each-ref', '--format=%(objectname:short)')).split('\n')) {
  const has = await execa('git', ['-C', mirror, 'cat-file', '-e', `${line}:schemas/compose-schema.yaml`], {
    reject: false,
  });
  if (has.exitCode === 0) heads.push(line);
}
const COMMITS = [...new Set([...changing, ...heads])].filter(Boolean);

/** The checkout as a user has it: the commit's tree, then its own setup_secrets.py run. */
async function checkout(commit: string): Promise<string> {
  const root = join(scratch, commit);
  await mkdir(root);
  await execa('sh', ['-c', 'git -C "$1" archive "$2" | tar -x -C "$3"', 'sh', mirror, commit, root]);
  const setup = await execa('/usr/bin/python3', ['setup_secrets.py'], {
    cwd: root,
    reject: false,
    timeout: 60_000,
  });
  expect(setup.exitCode, `${commit}: setup_secrets.py: ${setup.stderr.slice(-500)}`).toBe(0);
  return root;
}

async function jsonFile<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

describe('stackctl import takes every real checkout of the original', () => {
  it('finds the commits the issue names in the bundle', () => {
    // 13 commits change the schema (ea8e11c to 881dd12); later branches carry it on.
    expect(changing).toHaveLength(13);
    for (const commit of [
      'ea8e11c',
      '881dd12',
      '103f9ef',
      '963c13b',
      '62b0bf9',
      '682d6cd',
      '9adcbbc',
      '37a11e3',
    ])
      expect(COMMITS).toContain(commit);
    expect(COMMITS.length).toBeGreaterThanOrEqual(19);
  });

  it.each(COMMITS)(
    '%s: imports whole, validates, generates, compose accepts every environment, every credential kept',
    async (commit) => {
      const from = await checkout(commit);
      expect((await readdir(join(from, '.env.d'))).length).toBeGreaterThan(0);
      const out = join(scratch, `${commit}-imported`);
      await mkdir(out);
      const imported = await runCli(['import', '--from', from, '--out', out, '--json']);
      expect(imported.exitCode, `${commit}: ${imported.stdout.slice(-2000)}${imported.stderr}`).toBe(0);
      const report = JSON.parse(imported.stdout) as {
        report: { severity: string; file: string; message: string; action: string }[];
      };
      // .env.d/ was read as what it is: per-service copies of one environment's values.
      expect(
        report.report.some(
          (entry) => entry.file === '.env.d/' && /per-service env files/.test(entry.message),
        ),
      ).toBe(true);

      expect((await runCli(['validate'], { cwd: out })).exitCode).toBe(0);
      // The database init script is the project's own file: kept, and run on an image with pgvector.
      const init = await readFile(join(from, 'sql', 'init.sql'), 'utf8');
      expect(await readFile(join(out, 'sql', 'init.sql'), 'utf8')).toBe(init);
      const importedSchema = await readFile(join(out, 'schemas', 'compose-schema.yaml'), 'utf8');
      expect(importedSchema).toContain('./sql/init.sql:/docker-entrypoint-initdb.d/init.sql');
      expect(importedSchema).toMatch(/^ {4}image: pgvector\/pgvector:pg\d+$/m);
      const generated = await runCli(['generate', '--all', '--json'], { cwd: out });
      expect(generated.exitCode, generated.stderr).toBe(0);
      const environments = (
        JSON.parse(generated.stdout) as { environments: { name: string; composeFiles: string[] }[] }
      ).environments;
      expect(environments.length).toBeGreaterThanOrEqual(4);
      for (const env of environments) {
        const config = await execa(
          'docker',
          [
            'compose',
            '--project-directory',
            out,
            '--env-file',
            join(out, `.env.${env.name}`),
            ...env.composeFiles.flatMap((file) => ['-f', join(out, file)]),
            'config',
            '-q',
          ],
          { reject: false },
        );
        expect(config.exitCode, `${commit} ${env.name}: ${config.stderr}`).toBe(0);
      }

      // Every value of every store of the checkout, as it was; and what only .env.d/ held.
      const stores = (await readdir(join(from, 'secrets'))).filter((name) => /^\.env\..+\.json$/.test(name));
      expect(stores.length).toBeGreaterThan(0);
      const outputs = imported.stdout + imported.stderr + generated.stderr;
      for (const name of stores) {
        const original = await jsonFile<Record<string, unknown>>(join(from, 'secrets', name));
        const kept = await jsonFile<{ secrets: Record<string, { value: string }> }>(
          join(out, 'secrets', name),
        );
        for (const [key, value] of Object.entries(original)) {
          if (typeof value !== 'string' || value === '') continue;
          expect(kept.secrets[key]?.value, `${commit} ${name} ${key}`).toBe(value);
          if (value.length >= 8) expect(outputs).not.toContain(value);
        }
      }
      const development = await jsonFile<{ secrets: Record<string, { value: string }> }>(
        join(out, 'secrets', '.env.development.json'),
      );
      for (const file of await readdir(join(from, '.env.d'))) {
        const values = parseDotenv(await readFile(join(from, '.env.d', file), 'utf8'));
        for (const [key, value] of Object.entries(values))
          if (/(PASSWORD|SECRET|_KEY$|TOKEN|SALT)/.test(key) && value !== '')
            expect(development.secrets[key], `${commit} .env.d/${file} ${key}`).toBeDefined();
      }
    },
    120_000,
  );
});
