// validate reports every problem at once, where the mistake is (issue 13).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateStackText } from '../../src/schema/validate.js';
import { SCHEMA_FIXTURES, SHIPPED_SCHEMA } from '../helpers/paths.js';

const minimal = readFileSync(join(SCHEMA_FIXTURES, 'minimal.yaml'), 'utf8');
const check = (text: string) => validateStackText(text, { fileName: 'schema.yaml' });
const lineOf = (text: string, fragment: string): number =>
  text.split('\n').findIndex((line) => line.includes(fragment)) + 1;

describe('validate', () => {
  it('reports a shape error and the semantic errors of the well-formed rest in one run', async () => {
    const text = minimal
      .replace('    image: example/api:1.0\n', '    image: example/api:1.0\n    restrat: always\n')
      .replace(
        '      postgres: { condition: service_healthy }',
        '      postgress: { condition: service_healthy }',
      )
      .replace(
        'services: [postgres, api]\n    variables:',
        'services: [postgres, api, cache]\n    variables:',
      );
    const result = await check(text);
    expect(result.valid).toBe(false);
    const messages = result.issues.map((issue) => `${issue.path}: ${issue.message}`);
    expect(messages).toContain('services.api.restrat: unknown key "restrat"');
    expect(messages).toContain('services.api.depends_on.postgress: unknown service "postgress"');
    expect(messages).toContainEqual(
      expect.stringMatching(/^environments\.staging\.services\[2\]: unknown service "cache"/),
    );
  });

  it('does not blame references to a part it had to cut out', async () => {
    // postgres lacks its required stack: every reference to it would otherwise be "unknown".
    const result = await check(minimal.replace('  postgres:\n    stack: core\n', '  postgres:\n'));
    const messages = result.issues.map((issue) => issue.message);
    expect(messages).toContain('missing required key "stack"');
    expect(messages.filter((message) => message.includes('"postgres"'))).toEqual([]);
  });

  it('points at where an unclosed [ or { was opened, not where the parser gave up', async () => {
    const sequence = minimal.replace(
      "ports: ['${BIND_ADDRESS}:${API_PORT}:8000']",
      "ports: ['${BIND_ADDRESS}:${API_PORT}:8000'",
    );
    const [issue] = (await check(sequence)).issues;
    expect(issue).toMatchObject({
      line: lineOf(sequence, "ports: ['${BIND_ADDRESS}:${API_PORT}"),
      column: 12,
    });
    expect(issue?.message).toBe('YAML: this flow sequence is never closed with ]');
    const map = minimal.replace(
      'postgres: { condition: service_healthy }',
      'postgres: { condition: service_healthy',
    );
    const [mapIssue] = (await check(map)).issues;
    expect(mapIssue?.line).toBe(lineOf(map, 'postgres: { condition: service_healthy'));
    expect(mapIssue?.message).toBe('YAML: this flow map is never closed with }');
  });

  it('warns about a service no environment runs', async () => {
    const text = minimal
      .replace('services: [postgres, api]\n    variables:', 'services: [postgres]\n    variables:')
      .replace(/(development:[\s\S]*?)services: \[postgres, api\]/, '$1services: [postgres]');
    const result = await check(text);
    expect(result.valid).toBe(true);
    expect(result.issues).toEqual([
      expect.objectContaining({
        severity: 'warning',
        path: 'services.api',
        message: 'service "api" is in no environment',
      }),
    ]);
  });

  it('names the values a key takes as YAML writes them: booleans unquoted, words quoted', async () => {
    const text = minimal.replace(
      '    image: example/api:1.0\n',
      '    image: example/api:1.0\n    gpu: watch\n',
    );
    expect((await check(text)).issues).toContainEqual(
      expect.objectContaining({
        path: 'services.api.gpu',
        message: '"watch" is not allowed',
        hint: 'use one of: true, false, "monitor"',
      }),
    );
    const typo = minimal.replace(
      '    image: example/api:1.0\n',
      '    image: example/api:1.0\n    gpu: monitr\n',
    );
    expect((await check(typo)).issues).toContainEqual(
      expect.objectContaining({ path: 'services.api.gpu', hint: 'did you mean "monitor"?' }),
    );
  });

  it('warns about the Docker socket, in itself or in /var/run, unless hostAccess says why', async () => {
    const withVolume = (volume: string, extra = ''): string =>
      minimal.replace(
        '    image: example/api:1.0\n',
        `    image: example/api:1.0\n    volumes: ['${volume}']\n${extra}`,
      );
    const warnings = async (text: string): Promise<string[]> =>
      (await check(text)).issues
        .filter((issue) => issue.severity === 'warning')
        .map((issue) => `${issue.path}: ${issue.message}`);
    for (const mount of [
      '/var/run/docker.sock:/var/run/docker.sock:ro',
      '/var/run:/var/run:ro',
      '/run:/host-run',
    ])
      expect(await warnings(withVolume(mount))).toEqual([
        'services.api.volumes[0]: "api" mounts the Docker socket, which gives it root on the host',
      ]);
    expect(await warnings(withVolume('/var/lib/docker/containers:/logs:ro'))).toEqual([]);
    const said = '    hostAccess: it lists containers through the Docker API\n';
    expect(await warnings(withVolume('/var/run/docker.sock:/var/run/docker.sock:ro', said))).toEqual([]);
    // A reason left behind once the socket is gone is said to be stale.
    expect(await warnings(withVolume('/data:/data', said))).toEqual([
      'services.api.hostAccess: "api" says why it needs the host (hostAccess) but mounts no Docker socket',
    ]);
  });

  it('refuses names Kubernetes would refuse and config-file targets with . or .. (issue 32)', async () => {
    const trailing = minimal.replace('  name: mini\n', '  name: mini-\n');
    expect((await check(trailing)).issues.map((issue) => issue.path)).toContain('project.name');
    const long = minimal
      .replace('  name: mini\n', `  name: ${'m'.repeat(40)}\n`)
      .replace(/^ {2}development:$/m, `  ${'d'.repeat(30)}:`);
    const warned = await check(long);
    expect(warned.issues).toContainEqual(
      expect.objectContaining({
        severity: 'warning',
        message: expect.stringContaining('too long for a Kubernetes namespace (63)') as string,
      }),
    );
    const target = minimal.replace(
      "    ports: ['${BIND_ADDRESS}:${API_PORT}:8000']\n",
      "    ports: ['${BIND_ADDRESS}:${API_PORT}:8000']\n    configFiles: [{ generate: nginx, target: /etc/nginx/../shadow }]\n",
    );
    const messages = (await check(target)).issues.map((issue) => `${issue.path}: ${issue.message}`);
    expect(messages).toContain(
      'services.api.configFiles[0].target: target /etc/nginx/../shadow has a "." or ".." segment',
    );
  });

  it('refuses a live store kept in a logs volume where retention would expire files (issue 25)', async () => {
    const shipped = readFileSync(SHIPPED_SCHEMA, 'utf8');
    expect((await check(shipped)).issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    // Marked as plain logs, with a policy covering an environment that runs it.
    const asLogs = shipped
      .replace('prometheus_data: { data: metrics,', 'prometheus_data: { data: logs,')
      .replace(
        '    testing: { days: 3, logsDays: 3 }\n',
        '    testing: { days: 3, logsDays: 3 }\n    monitoring: { days: 7 }\n',
      );
    const messages = (await check(asLogs)).issues.map((issue) => `${issue.path}: ${issue.message}`);
    expect(messages).toContainEqual(
      expect.stringMatching(
        /^volumes\.prometheus_data\.data: prometheus_data is data: logs, but prometheus keeps Prometheus' TSDB there .*retention would delete files inside a live store$/,
      ),
    );
  });

  it('refuses online backup keys that are no secret or no variable', async () => {
    const shipped = readFileSync(SHIPPED_SCHEMA, 'utf8')
      .replace('apiKey: QDRANT_API_KEY', 'apiKey: QDRANT_HTTP_PORT')
      .replace('accessKey: MINIO_ROOT_USER', 'accessKey: MINIO_ROOT_USR')
      .replace('secretKey: MINIO_ROOT_PASSWORD', 'secretKey: MINIO_ROOT_USER');
    const messages = (await check(shipped)).issues.map((issue) => `${issue.path}: ${issue.message}`);
    expect(messages).toContain('services.qdrant.backup.apiKey: "QDRANT_HTTP_PORT" is not a secret variable');
    expect(messages).toContain('services.minio.backup.secretKey: "MINIO_ROOT_USER" is not a secret variable');
    expect(messages).toContain('services.minio.backup.accessKey: unknown variable "MINIO_ROOT_USR"');
  });

  it('accepts secretFiles only for an environment key that is one secret variable', async () => {
    const valid = minimal.replace(
      "    ports: ['${BIND_ADDRESS}:${POSTGRES_PORT}:5432']\n",
      "    ports: ['${BIND_ADDRESS}:${POSTGRES_PORT}:5432']\n    secretFiles: { POSTGRES_PASSWORD: POSTGRES_PASSWORD_FILE }\n",
    );
    expect((await check(valid)).issues).toEqual([]);
    const wrong = minimal.replace(
      "    ports: ['${BIND_ADDRESS}:${POSTGRES_PORT}:5432']\n",
      "    ports: ['${BIND_ADDRESS}:${POSTGRES_PORT}:5432']\n    secretFiles: { POSTGRES_USER: POSTGRES_USER_FILE, PGPASS: PGPASS_FILE }\n",
    );
    const messages = (await check(wrong)).issues.map((issue) => `${issue.path}: ${issue.message}`);
    expect(messages).toContain(
      'services.postgres.secretFiles.POSTGRES_USER: POSTGRES_USER of "postgres" is "${POSTGRES_USER}", not one secret variable',
    );
    expect(messages).toContain(
      'services.postgres.secretFiles.PGPASS: "postgres" sets no environment variable PGPASS',
    );
  });
});
