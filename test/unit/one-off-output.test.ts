// A one-off container's output is used only when its end marker came back: the engine can drop a
// short-lived container's output and still report exit 0. The marked script runs under the same
// POSIX shell semantics here (dash, as sh) that it has in a container.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { OUTPUT_END, markedOutput, markedScript, wholeOutput } from '../../src/effects/one-off-output.js';

const sh = (script: string, ...args: string[]) =>
  execa('sh', ['-c', markedScript(script), 'stackctl-test', ...args], { reject: false });

describe('markedScript', () => {
  it('keeps the positional arguments, the output and the exit status, and marks success only', async () => {
    const ok = await sh('for name; do echo "$name"; done; exit 0', 'vector', 'pg_trgm');
    expect(ok.exitCode).toBe(0);
    expect(markedOutput(ok.stdout)).toBe('vector\npg_trgm');
    expect(markedOutput(ok.stderr)).toBe('');

    const failed = await sh('set -e; echo partial; false; echo never');
    expect(failed.exitCode).toBe(1);
    expect(failed.stdout).toBe('partial');
    expect(markedOutput(failed.stdout)).toBeUndefined();

    const exited = await sh('echo "$1" >&2; exit 5', 'told');
    expect(exited.exitCode).toBe(5);
    expect(exited.stderr).toBe('told');
    expect(exited.stdout).toBe('');
  });

  it('gives empty output for a script that printed nothing, and undefined for output without the marker', async () => {
    const silent = await sh('cd /');
    expect(markedOutput(silent.stdout)).toBe('');
    expect(markedOutput('')).toBeUndefined();
    expect(markedOutput('1000:1000')).toBeUndefined();
    expect(markedOutput(`${OUTPUT_END}\nafter`)).toBeUndefined();
    // Output without a final newline of its own (cat of such a file) shares its line with the marker.
    const unterminated = await sh('printf "do not delete"');
    expect(markedOutput(unterminated.stdout)).toBe('do not delete');
    expect(markedOutput(`two lines\n\n${OUTPUT_END}\n`)).toBe('two lines\n');
  });
});

describe('wholeOutput', () => {
  it('runs again a successful run whose output was lost, and returns the whole one', async () => {
    const runs = [
      { exitCode: 0, stdout: '' },
      { exitCode: 0, stdout: `999:999\n${OUTPUT_END}\n` },
    ];
    let calls = 0;
    const { output, result } = await wholeOutput(
      () => Promise.resolve(runs[calls++] ?? { exitCode: 0, stdout: '' }),
      'x',
    );
    expect(calls).toBe(2);
    expect(output).toBe('999:999');
    expect(result.exitCode).toBe(0);
  });

  it('returns a failed run at once, never running it again', async () => {
    let calls = 0;
    const { result } = await wholeOutput(() => {
      calls++;
      return Promise.resolve({ exitCode: 3, stdout: '', stderr: 'no space' });
    }, 'x');
    expect(calls).toBe(1);
    expect(result.stderr).toBe('no space');
  });

  it('gives up with a one-line error after the attempts it was allowed', async () => {
    let calls = 0;
    await expect(
      wholeOutput(
        () => {
          calls++;
          return Promise.resolve({ exitCode: 0, stdout: '' });
        },
        'probing the image',
        3,
      ),
    ).rejects.toThrow(
      /^probing the image: the Docker engine lost the output of its one-off container 3 times/,
    );
    expect(calls).toBe(3);
  });
});
