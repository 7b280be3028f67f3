// Values written by stackctl must come back from `docker compose --env-file` exactly as they were.
import { execa } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dotenvLine, dotenvValue } from '../../src/generate/dotenv.js';

const AWKWARD: Record<string, string> = {
  EMPTY: '',
  PLAIN: 'plain-value_1.2:3@host/path,more=yes%20',
  SPACES: 'two words  and   gaps',
  LEADING_TRAILING: '  padded  ',
  HASH: 'value #not-a-comment',
  HASH_NO_SPACE: 'a#b',
  DOLLAR: 'costs $5 and ${HOME} and $$',
  SINGLE_QUOTE: "it's",
  DOUBLE_QUOTE: 'say "hi"',
  BOTH_QUOTES: `it's "quoted" $HOME`,
  BACKSLASH: 'C:\\path\\to\\n-not-a-newline',
  NEWLINE: 'line one\nline two',
  CRLF: 'windows\r\nline',
  TAB: 'tab\there',
  UNICODE: 'naïve café ✓',
  EQUALS: '==base64==',
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stackctl-dotenv-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('dotenvValue', () => {
  it('leaves safe values bare and quotes the rest', () => {
    expect(dotenvValue('abcXYZ019')).toBe('abcXYZ019');
    expect(dotenvValue('a b')).toBe("'a b'");
    expect(dotenvValue("it's $x")).toBe('"it\'s \\$x"');
  });

  it('round-trips awkward values through a real docker compose', async () => {
    const envFile = join(dir, '.env.test');
    await writeFile(
      envFile,
      `${Object.entries(AWKWARD)
        .map(([k, v]) => dotenvLine(k, v))
        .join('\n')}\n`,
    );
    const environment = Object.fromEntries(Object.keys(AWKWARD).map((name) => [name, `\${${name}}`]));
    await writeFile(
      join(dir, 'compose.yml'),
      JSON.stringify({ services: { probe: { image: 'busybox', environment } } }),
    );
    const result = await execa(
      'docker',
      [
        'compose',
        '--project-directory',
        dir,
        '--env-file',
        envFile,
        '-f',
        join(dir, 'compose.yml'),
        'config',
        '--format',
        'json',
      ],
      { env: Object.fromEntries(Object.keys(AWKWARD).map((name) => [name, undefined])), extendEnv: true },
    );
    const config = JSON.parse(result.stdout) as {
      services: { probe: { environment: Record<string, string> } };
    };
    // compose prints a literal $ as $$ so that its output can be read back by compose.
    const values = Object.fromEntries(
      Object.entries(config.services.probe.environment).map(([name, value]) => [
        name,
        value.replace(/\$\$/g, '$'),
      ]),
    );
    expect(values).toEqual(AWKWARD);
  });
});
