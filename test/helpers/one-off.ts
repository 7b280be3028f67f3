// One-off containers whose output a test reads. The engine here can drop everything a short-lived
// container printed, on either stream, and still report exit 0 (about 1 run in 200 under the
// suite's load; see src/effects/one-off-output.ts). Each script ends with a marker on both streams
// on success, and a successful run that lost one is run again; file content is copied out of a
// never-started container (`docker cp`), with no process to lose it.
import { execa } from 'execa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { markedOutput, markedScript } from '../../src/effects/one-off-output.js';

export interface OneOffRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `docker run --rm [runArgs] --entrypoint sh IMAGE -c SCRIPT`, its output whole: stdout and stderr
 * trimmed of the markers (and of trailing newlines). A failed run is returned as it came.
 */
export async function runOneOff(
  image: string,
  script: string,
  runArgs: readonly string[] = [],
): Promise<OneOffRun> {
  const marked = markedScript(script);
  for (let tried = 1; ; tried++) {
    const result = await execa(
      'docker',
      ['run', '--rm', ...runArgs, '--entrypoint', 'sh', image, '-c', marked],
      {
        reject: false,
        stdin: 'ignore',
      },
    );
    const exitCode = result.exitCode ?? 1;
    if (exitCode !== 0) return { exitCode, stdout: result.stdout, stderr: result.stderr };
    const stdout = markedOutput(result.stdout);
    const stderr = markedOutput(result.stderr);
    if (stdout !== undefined && stderr !== undefined) return { exitCode, stdout, stderr };
    if (tried >= 5) throw new Error(`docker run ${image}: output lost ${String(tried)} times in a row`);
  }
}

/** A one-off script with `volume` mounted at `mount`, as root; throws when it fails. Its stdout, trimmed. */
export async function inVolume(volume: string, script: string, mount = '/v'): Promise<string> {
  const result = await runOneOff('stackctl-test/busybox:1', script, [
    '--network',
    'none',
    '-v',
    `${volume}:${mount}`,
  ]);
  if (result.exitCode !== 0)
    throw new Error(`in volume ${volume}: exit ${String(result.exitCode)}: ${result.stderr}`);
  return result.stdout.trim();
}

/** A file's content in a volume, copied out of a created (never started) container. */
export async function readVolumeFile(volume: string, file: string): Promise<string> {
  const created = await execa('docker', [
    'create',
    '--network',
    'none',
    '-v',
    `${volume}:/d`,
    'stackctl-test/busybox:1',
  ]);
  const container = created.stdout.trim();
  const folder = await mkdtemp(join(tmpdir(), 'stackctl-volume-file-'));
  try {
    const target = join(folder, basename(file));
    await execa('docker', ['cp', `${container}:/d/${file}`, target]);
    return await readFile(target, 'utf8');
  } finally {
    await execa('docker', ['rm', '-f', container], { reject: false });
    await rm(folder, { recursive: true, force: true });
  }
}
