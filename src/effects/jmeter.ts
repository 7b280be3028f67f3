// One JMeter run in a container of its own: the image of the environment's JMeter service, on the
// target environment's network (nothing is published), its results volume at /results. The plan,
// the routes and the properties (secrets among them) travel as a tar on the container's standard
// input into a tmpfs only that container sees, so no secret is on a command line, in a file on the
// host, or in the container's configuration. JMeter's console goes to stderr (told as progress).
// The results file is read back from the volume once the run is over, through a created (never
// started) container and `docker cp`: the engine can drop a container's output when it exits
// (src/effects/one-off-output.ts), and a summary must count every request that was made.
import { parse } from 'csv-parse';
import { execa } from 'execa';
import { Readable } from 'node:stream';
import { extract, pack } from 'tar-stream';
import { StackctlError } from '../errors.js';
import { dockerCliEnvironment, dockerClient } from './docker.js';

/** Where the inputs are unpacked inside the container (a tmpfs, mode 0700). */
export const INPUT_DIR = '/run/stackctl';
export const RESULTS_DIR = '/results';

export interface JmeterRun {
  readonly image: string;
  /** The Docker network to join; undefined for the default bridge (a URL target outside). */
  readonly network: string | undefined;
  readonly resultsVolume: string;
  /** Labels the volume is created with when it does not exist yet (as compose labels it). */
  readonly volumeLabels: Readonly<Record<string, string>>;
  readonly containerName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly runId: string;
  /** plan.jmx, routes.csv, bench.properties. */
  readonly inputs: readonly { readonly name: string; readonly content: string }[];
}

/** A row of JMeter's results file: column name -> text. */
export type ResultRow = Readonly<Record<string, string | undefined>>;

export interface JmeterOutcome {
  /** JMeter's exit status (2.13 exits 0 even when it failed to load the plan: see `failure`). */
  readonly exitCode: number;
  /** JMeter wrote its HTML dashboard (3.0 and later): its index.html is in the run's folder. */
  readonly dashboard: boolean;
  /** Why no results came back, from JMeter's log; undefined when they did. */
  readonly failure: string | undefined;
}

// $1 is the run id. The properties file is removed as soon as JMeter has read its arguments' files.
const SCRIPT = `
umask 077
cd ${INPUT_DIR} || exit 90
tar -xf - || exit 91
umask 022
out="${RESULTS_DIR}/$1"
mkdir -p "$out" || exit 92
dashboard=0
bin=$(command -v jmeter) || { echo "stackctl: no jmeter on the image's PATH" >&2; exit 94; }
for home in "\${JMETER_HOME:-}" "$(dirname "$(dirname "$(readlink -f "$bin")")")"; do
  [ -n "$home" ] && [ -d "$home/bin/report-template" ] && dashboard=1
done
if [ "$dashboard" = 1 ]; then
  jmeter -n -t plan.jmx -q bench.properties -l "$out/results.jtl" -j "$out/jmeter.log" -e -o "$out/report" 1>&2
else
  jmeter -n -t plan.jmx -q bench.properties -l "$out/results.jtl" -j "$out/jmeter.log" 1>&2
fi
code=$?
rm -f bench.properties
if [ ! -s "$out/results.jtl" ]; then
  grep -E "ERROR|Exception" "$out/jmeter.log" 2>/dev/null | head -n 3 >&2
  exit 93
fi
exit $code
`;

export async function runJmeter(
  run: JmeterRun,
  io: {
    readonly env: NodeJS.ProcessEnv;
    readonly signal: AbortSignal;
    /** A line of JMeter's console. */
    readonly onLine: (line: string) => void;
    /** A row of the results file, as it streams back. */
    readonly onRow: (row: ResultRow) => void;
  },
): Promise<JmeterOutcome> {
  await ensureVolume(run, io.env);
  const env = dockerCliEnvironment(io.env);
  const args = [
    'run',
    '-i',
    '--rm',
    '--pull',
    'never',
    '--name',
    run.containerName,
    ...Object.entries(run.labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]),
    ...(run.network === undefined ? [] : ['--network', run.network]),
    '--tmpfs',
    `${INPUT_DIR}:rw,mode=0700,size=16m`,
    '-v',
    `${run.resultsVolume}:${RESULTS_DIR}`,
    '--entrypoint',
    'sh',
    run.image,
    '-c',
    SCRIPT,
    'stackctl',
    run.runId,
  ];
  const child = execa('docker', args, { env, reject: false, stdin: 'pipe', buffer: false });
  const errorLines: string[] = [];
  const recent: string[] = [];
  const stopOnAbort = (): void => {
    void execa('docker', ['rm', '-f', run.containerName], { env, reject: false, stdin: 'ignore' });
  };
  io.signal.addEventListener('abort', stopOnAbort, { once: true });
  try {
    child.stdout?.resume();
    const reading = readLines(child.stderr, (line) => {
      if (/ERROR|Exception|^stackctl:/.test(line)) errorLines.push(line.trim());
      recent.push(line.trim());
      if (recent.length > 5) recent.shift();
      io.onLine(line);
    });
    await feedInputs(child.stdin, run.inputs);
    const [result] = await Promise.all([child, reading]);
    if (io.signal.aborted)
      throw io.signal.reason instanceof Error ? io.signal.reason : new Error('interrupted');
    const exitCode = result.exitCode ?? 1;
    if (exitCode === 125 || exitCode === 126 || exitCode === 127)
      throw new StackctlError(
        'E_RUNTIME',
        `JMeter could not start: ${lastLine(recent) ?? `exit ${String(exitCode)}`}`,
        {
          hint: `it runs the JMeter service's image (${run.image}): it must be on the engine (stackctl pull)`,
        },
      );
    const failure =
      exitCode === 93 || exitCode === 94 || (exitCode >= 90 && exitCode <= 92)
        ? (errorLines.find((line) => /ERROR|Exception|stackctl:/.test(line)) ?? `exit ${String(exitCode)}`)
        : undefined;
    if (failure !== undefined) return { exitCode, dashboard: false, failure };
    const dashboard = await readResults(run, env, io.onRow);
    return { exitCode, dashboard, failure };
  } finally {
    io.signal.removeEventListener('abort', stopOnAbort);
  }
}

/**
 * Streams the run's results file out of the volume into `onRow`, and says whether the run's folder
 * holds the dashboard. The container that mounts the volume is created, never started.
 */
async function readResults(
  run: JmeterRun,
  env: NodeJS.ProcessEnv,
  onRow: (row: ResultRow) => void,
): Promise<boolean> {
  const docker = (args: string[]) => execa('docker', args, { env, reject: false, stdin: 'ignore' });
  const created = await docker([
    'create',
    ...Object.entries(run.labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]),
    '--network',
    'none',
    '-v',
    `${run.resultsVolume}:${RESULTS_DIR}`,
    '--entrypoint',
    'sh',
    run.image,
  ]);
  if (created.exitCode !== 0)
    throw new StackctlError(
      'E_RUNTIME',
      `cannot read the results back: ${created.stderr.split('\n').pop() ?? ''}`,
    );
  const holder = created.stdout.trim();
  const folder = `${RESULTS_DIR}/${run.runId}`;
  try {
    const copy = execa('docker', ['cp', `${holder}:${folder}/results.jtl`, '-'], {
      env,
      reject: false,
      stdin: 'ignore',
      buffer: { stdout: false, stderr: true },
    });
    const archive = extract();
    const parsed = new Promise<void>((resolve, reject) => {
      archive.on('entry', (_header, stream, next) => {
        parseResults(Readable.from(stream), onRow).then(() => next(), reject);
      });
      archive.on('finish', resolve);
      archive.on('error', reject);
    });
    copy.stdout?.pipe(archive);
    const [copied] = await Promise.all([copy, parsed]);
    if (copied.exitCode !== 0)
      throw new StackctlError(
        'E_RUNTIME',
        `cannot read ${folder}/results.jtl in the volume ${run.resultsVolume}: ${copied.stderr.split('\n').pop() ?? ''}`,
      );
    const index = await docker(['cp', `${holder}:${folder}/report/index.html`, '-']);
    return index.exitCode === 0;
  } finally {
    await docker(['rm', '-f', holder]);
  }
}

async function ensureVolume(run: JmeterRun, env: NodeJS.ProcessEnv): Promise<void> {
  const docker = dockerClient(env);
  const exists = await docker
    .getVolume(run.resultsVolume)
    .inspect()
    .then(() => true)
    .catch((error: { statusCode?: number }) => {
      if (error.statusCode === 404) return false;
      throw error;
    });
  if (!exists) await docker.createVolume({ Name: run.resultsVolume, Labels: { ...run.volumeLabels } });
}

async function feedInputs(stdin: NodeJS.WritableStream | null, inputs: JmeterRun['inputs']): Promise<void> {
  if (!stdin) return;
  stdin.on('error', () => undefined);
  const archive = pack();
  for (const input of inputs) archive.entry({ name: input.name, mode: 0o600 }, input.content);
  archive.finalize();
  archive.pipe(stdin);
  await new Promise<void>((resolve) => {
    archive.on('end', resolve);
    archive.on('error', () => resolve());
  });
}

/** Reads JMeter's CSV results file (header first) as it streams, a row at a time. */
export async function parseResults(
  stdout: NodeJS.ReadableStream | null,
  onRow: (row: ResultRow) => void,
): Promise<void> {
  if (!stdout) return;
  const parser = stdout.pipe(
    parse({ columns: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: true }),
  );
  for await (const record of parser) onRow(record as ResultRow);
}

async function readLines(
  stream: NodeJS.ReadableStream | null,
  onLine: (line: string) => void,
): Promise<void> {
  if (!stream) return;
  let pending = '';
  for await (const chunk of stream) {
    pending += String(chunk);
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') onLine(line);
  }
  if (pending.trim() !== '') onLine(pending);
}

function lastLine(lines: readonly string[]): string | undefined {
  return lines[lines.length - 1];
}
