// The shipped stack's core with real PostgreSQL and Redis (images built from Debian's packages by
// .ci/build-test-images.sh), swapped in through the user overlay as a user would, under a project
// name and ports of its own. Clients log in with the values stackctl generated.
import { execa } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from './cli.js';
import { freePort, shippedProject, type TempProject } from './project.js';
import { removeByLabel } from './stack-project.js';

export interface DataStack {
  readonly project: TempProject;
  /** The schema's project name (labels carry it). */
  readonly name: string;
  readonly env: string;
  container(service: string): string;
  secret(variable: string): Promise<string>;
  envValue(variable: string): Promise<string>;
  /** psql over TCP (scram) as a client would log in; the password goes in the environment. */
  sql(query: string, password?: string): Promise<{ stdout: string; stderr: string; exitCode?: number }>;
  /** redis-cli with the stored password (in the environment, never on the command line). */
  redis(...args: string[]): Promise<string>;
  start(): ReturnType<typeof runCli>;
  remove(): Promise<void>;
}

/**
 * qdrant runs as a stand-in (busybox, its volume mounted where Qdrant keeps collections) and minio
 * not at all (scaled to none): nothing here depends on what they are, only on their volumes.
 */
export async function dataStack(
  prefix: string,
  octet: number,
  options: { schema?: (text: string) => string; qdrantBackup?: 'volume' | 'api' } = {},
): Promise<DataStack> {
  const env = 'development';
  const project = await shippedProject();
  const name = `${prefix}${octet}p${process.pid}`;
  const path = join(project.root, 'schemas', 'compose-schema.yaml');
  // Test files run in parallel: each passes its own octet so their subnets never overlap.
  const schema = (await readFile(path, 'utf8'))
    .replace(/^ {2}name: \S+$/m, `  name: ${name}`)
    .replace('addressPool: 10.30.0.0/20', `addressPool: 10.${octet}.0.0/20`)
    // The stand-in is no Qdrant: its data is backed up as a volume copy unless a test serves the API.
    .replace(
      /^ {4}backup: \{ method: qdrant, .*\}$/m,
      options.qdrantBackup === 'api' ? '$&' : '    backup: { method: volume }',
    );
  await writeFile(path, options.schema ? options.schema(schema) : schema);
  await mkdir(join(project.root, 'compose'), { recursive: true });
  await writeFile(
    join(project.root, 'compose', 'local.override.yml'),
    [
      'services:',
      '  postgres:',
      '    image: stackctl-test/postgres-vector:1',
      `    ports: !override ['127.0.0.1:${await freePort()}:5432']`,
      '  redis:',
      '    image: stackctl-test/redis:2',
      `    ports: !override ['127.0.0.1:${await freePort()}:6379']`,
      '  qdrant:',
      '    image: stackctl-test/busybox:1',
      '    init: true',
      "    command: ['sleep', '3600']",
      `    ports: !override ['127.0.0.1:${await freePort()}:6333']`,
      "    healthcheck: { test: ['CMD', 'true'], interval: 1s, start_interval: 250ms }",
      '  minio:',
      '    image: stackctl-test/busybox:1',
      '    deploy: { replicas: 0 }',
      '',
    ].join('\n'),
  );
  const store = async (): Promise<Record<string, { value: string }>> =>
    (
      JSON.parse(await readFile(join(project.root, 'secrets', `.env.${env}.json`), 'utf8')) as {
        secrets: Record<string, { value: string }>;
      }
    ).secrets;
  const envValue = async (variable: string): Promise<string> =>
    /^(?:'|")?(.*?)(?:'|")?$/.exec(
      (
        (await readFile(join(project.root, `.env.${env}`), 'utf8'))
          .split('\n')
          .find((line) => line.startsWith(`${variable}=`)) ?? ''
      ).slice(variable.length + 1),
    )?.[1] ?? '';
  const container = (service: string): string => `${name}-${env}-${service}-1`;
  const secret = async (variable: string): Promise<string> => (await store())[variable]?.value ?? '';
  return {
    project,
    name,
    env,
    container,
    secret,
    envValue,
    sql: async (query, password) =>
      execa(
        'docker',
        [
          'exec',
          '-e',
          'PGPASSWORD',
          container('postgres'),
          'psql',
          '-h',
          '127.0.0.1',
          '-U',
          await envValue('POSTGRES_USER'),
          '-d',
          await envValue('POSTGRES_DB'),
          '-tAc',
          query,
        ],
        { env: { PGPASSWORD: password ?? (await secret('POSTGRES_PASSWORD')) }, reject: false },
      ),
    redis: async (...args) =>
      (
        await execa(
          'docker',
          ['exec', '-e', 'REDISCLI_AUTH', container('redis'), 'redis-cli', '--no-auth-warning', ...args],
          {
            env: { REDISCLI_AUTH: await secret('REDIS_PASSWORD') },
          },
        )
      ).stdout,
    start: () => runCli(['start', env, '--stack', 'core', '--skip-preflight'], { cwd: project.root }),
    remove: async () => {
      await removeByLabel(`io.stackctl.project=${name}`);
      await project.remove();
    },
  };
}
