// `stackctl bench ENV` as a workflow: a JMeter plan run against the running environment ENV from the
// image of the load-testing environment's JMeter service (compose's effective configuration, the
// user's overlay included), joined to the network of the service it targets, its results and
// dashboard kept in that service's results volume, its summary recorded for `bench compare`.
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type Docker from 'dockerode';
import { listBenchRecords, loadBenchRecord, saveBenchRecord } from '../effects/bench-records.js';
import { projectContainers } from '../effects/containers.js';
import { dockerClient } from '../effects/docker.js';
import { INPUT_DIR, RESULTS_DIR, runJmeter } from '../effects/jmeter.js';
import { VOLUME_MOUNT, openVolumeShell } from '../effects/volume-shell.js';
import { StackctlError } from '../errors.js';
import { COMPOSE_LABELS, LABELS } from '../labels.js';
import type { EnvironmentModel } from '../model/environment.js';
import type { LoadedStack } from '../model/stack.js';
import {
  benchRunId,
  choosePlan,
  jmeterProperties,
  resolveLoadTarget,
  routeRows,
  routesCsv,
  type BenchLoad,
  type BenchRecord,
  type BenchTarget,
} from '../plan/bench.js';
import { compareRuns, type CompareThresholds, type RunComparison } from '../plan/bench-compare.js';
import { benchReportHtml } from '../plan/bench-report.js';
import { JtlAccumulator } from '../plan/bench-summary.js';
import { namedVolumeAt } from '../plan/volume-mounts.js';
import type { LoadTestsDef } from '../schema/types.js';
import { openComposeSession } from './compose-session.js';
import { resolveRun } from './run.js';

export interface BenchRequest {
  readonly envName: string;
  /** A plan of the schema's loadTests, or a .jmx file; the default plan when undefined. */
  readonly plan: string | undefined;
  /** A service of ENV or a URL, instead of the plan's target. */
  readonly target: string | undefined;
  readonly load: BenchLoad;
}

export interface BenchView {
  /** A line of JMeter's console (its running summary every 5 s). */
  progress(line: string): void;
}

export interface BenchOutcome {
  readonly record: BenchRecord;
  readonly recordPath: string;
  /** The sampler errors JMeter counted (the run itself completed). */
  readonly failedRequests: number;
}

const MAX_PLAN_BYTES = 4 * 1024 * 1024;

export async function runBench(
  stack: LoadedStack,
  request: BenchRequest,
  io: { readonly env: NodeJS.ProcessEnv; readonly signal: AbortSignal; readonly cwd: string },
  view: BenchView,
): Promise<BenchOutcome> {
  const tests = loadTestsOf(stack);
  const plan = choosePlan(tests, request.plan);
  const schemaPlan = plan.schemaPlan === undefined ? undefined : tests.plans[plan.schemaPlan];
  const planPath =
    schemaPlan !== undefined
      ? join(stack.root, tests.folder, plan.file)
      : isAbsolute(plan.file)
        ? plan.file
        : resolve(io.cwd, plan.file);
  const planText = await readPlan(planPath);

  const run = await resolveRun(stack, { envName: request.envName });
  const model = run.model(run.likelyGpu.selection);
  const target = resolveLoadTarget(schemaPlan?.target, model, request.target);
  const secrets = new Map<string, string>();
  for (const [property, variable] of Object.entries(schemaPlan?.secrets ?? {})) {
    const value = run.store?.secrets[variable]?.value;
    if (value === undefined)
      throw new StackctlError(
        'E_USAGE',
        `${request.envName} has no secret ${variable} for the plan ${plan.name}`,
        {
          hint: `stackctl generate ${request.envName} creates its secrets`,
        },
      );
    secrets.set(property, value);
  }

  const docker = dockerClient(io.env);
  const network = await targetNetwork(docker, model, target);
  const jmeter = await jmeterService(stack, tests, io);

  const now = new Date();
  const runId = benchRunId(now, plan.name);
  const properties = jmeterProperties(
    target,
    request.load,
    schemaPlan?.properties ?? {},
    secrets,
    model.values,
    `${INPUT_DIR}/routes.csv`,
  );
  const accumulator = new JtlAccumulator();
  const outcome = await runJmeter(
    {
      image: jmeter.image,
      network,
      resultsVolume: jmeter.volume.volumeName,
      volumeLabels: jmeter.volume.volumeLabels,
      containerName: `${jmeter.project}-bench-${runId.toLowerCase().replace(/[^a-z0-9_.-]/g, '-')}`,
      labels: {
        [LABELS.project]: stack.file.project.name,
        [LABELS.environment]: tests.environment,
        [LABELS.stack]: 'bench',
        [LABELS.kind]: 'job',
      },
      runId,
      inputs: [
        { name: 'plan.jmx', content: planText },
        { name: 'routes.csv', content: routesCsv(routeRows(model)) },
        { name: 'bench.properties', content: properties },
      ],
    },
    {
      env: io.env,
      signal: io.signal,
      onLine: (line) => view.progress(line),
      onRow: (row) => accumulator.add(row),
    },
  );
  const summary = accumulator.summary();
  if (outcome.failure !== undefined || summary.total.requests === 0)
    throw new StackctlError(
      'E_RUNTIME',
      `JMeter ran no request: ${outcome.failure ?? `it exited ${String(outcome.exitCode)} with an empty results file`}`,
      {
        hint: `check the plan (${planPath}); JMeter's log is ${RESULTS_DIR}/${runId}/jmeter.log in the volume ${jmeter.volume.volumeName}`,
      },
    );

  const record: BenchRecord = {
    id: runId,
    environment: request.envName,
    plan: plan.name,
    target: target.label,
    startedAt: now.toISOString(),
    load: request.load,
    image: jmeter.image,
    results: { volume: jmeter.volume.volumeName, folder: runId, dashboard: outcome.dashboard },
    summary,
  };
  await writeSummaryPage(record, jmeter, stack, tests, io);
  const recordPath = await saveBenchRecord(stack.root, record);
  return { record, recordPath, failedRequests: summary.total.errors };
}

/** Two recorded runs (ids, unique prefixes, or record files) side by side. */
export async function compareBenchRuns(
  stack: LoadedStack,
  references: readonly [string, string],
  thresholds: CompareThresholds,
  cwd: string,
): Promise<{ before: BenchRecord; after: BenchRecord; comparison: RunComparison }> {
  const [before, after] = await Promise.all(
    references.map((reference) => loadBenchRecord<BenchRecord>(stack.root, cwd, reference)),
  );
  if (!before || !after) throw new Error('two runs are compared');
  return { before, after, comparison: compareRuns(before.summary, after.summary, thresholds) };
}

/** The runs recorded for an environment, oldest first. */
export function recordedBenchRuns(stack: LoadedStack, environment: string): Promise<BenchRecord[]> {
  return listBenchRecords<BenchRecord>(stack.root, environment);
}

/** summary.html in the run's folder of the results volume, through a helper on that volume. */
async function writeSummaryPage(
  record: BenchRecord,
  jmeter: { image: string; volume: { volumeName: string; volumeLabels: Record<string, string> } },
  stack: LoadedStack,
  tests: LoadTestsDef,
  io: { readonly env: NodeJS.ProcessEnv; readonly signal: AbortSignal },
): Promise<void> {
  const shell = await openVolumeShell(
    jmeter.volume.volumeName,
    jmeter.image,
    {
      volume: jmeter.volume.volumeLabels,
      helper: {
        [LABELS.project]: stack.file.project.name,
        [LABELS.environment]: tests.environment,
        [LABELS.stack]: 'bench',
      },
    },
    io,
  );
  try {
    const written = await shell.run(
      'cat > "$1/.summary.html.part" && mv -f "$1/.summary.html.part" "$1/summary.html"',
      [`${VOLUME_MOUNT}/${record.id}`],
      (write) => write(Buffer.from(benchReportHtml(record))),
    );
    if (written.exitCode !== 0)
      throw new StackctlError(
        'E_RUNTIME',
        `cannot write summary.html into ${jmeter.volume.volumeName}: ${written.stderr.trim()}`,
        {
          hint: 'check that the results volume is writable',
        },
      );
  } finally {
    await shell.close();
  }
}

export function loadTestsOf(stack: LoadedStack): LoadTestsDef {
  const tests = stack.file.loadTests;
  if (!tests)
    throw new StackctlError('E_USAGE', 'the schema declares no load tests', {
      hint: 'add loadTests: (the JMeter service, its environment and the plans) to the schema; docs/load-tests.md shows how',
    });
  return tests;
}

async function readPlan(path: string): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile())
    throw new StackctlError('E_USAGE', `no test plan at ${path}`, {
      hint: 'give a plan of loadTests.plans, or the path of a .jmx file',
    });
  if (info.size > MAX_PLAN_BYTES)
    throw new StackctlError('E_USAGE', `${path} is over 4 MB`, { hint: 'a JMeter plan is a small XML file' });
  return readFile(path, 'utf8');
}

/**
 * The network JMeter joins: that of a running container of the service it sends to, the one of the
 * service's own stack first. A URL target joins the router's network when the environment runs one
 * (so names of the environment resolve), else none of the environment's.
 */
async function targetNetwork(
  docker: Docker,
  model: EnvironmentModel,
  target: BenchTarget,
): Promise<string | undefined> {
  const router = model.services.find((s) =>
    s.definition.configFiles?.some((file) => file.generate === 'nginx'),
  );
  const service = target.service ?? router?.name;
  if (service === undefined) return undefined;
  const running = (await projectContainers(docker, model.project, service)).filter(
    (c) => c.status === 'running',
  );
  const first = running[0];
  if (!first)
    throw new StackctlError('E_RUNTIME', `${service} of ${model.name} is not running`, {
      hint: `start it first: stackctl start ${model.name}`,
    });
  const names = await Promise.all(
    first.networkIds.map(async (id) => (await docker.getNetwork(id).inspect()) as { Name: string }),
  );
  const own = model.services.find((s) => s.name === service)?.stack;
  const ownNetwork = model.networks.find((network) => network.stack === own)?.name;
  const preferred = names.find((info) => ownNetwork !== undefined && info.Name.endsWith(`_${ownNetwork}`));
  return (preferred ?? names[0])?.Name;
}

/** The JMeter service as compose would run it: its image, and the volume it keeps results in. */
async function jmeterService(
  stack: LoadedStack,
  tests: LoadTestsDef,
  io: { readonly env: NodeJS.ProcessEnv; readonly signal: AbortSignal; readonly cwd: string },
): Promise<{
  image: string;
  project: string;
  volume: { volumeName: string; volumeLabels: Record<string, string> };
}> {
  const session = await openComposeSession(stack, tests.environment, io);
  const image = session.imageOf(tests.service);
  const volumes = namedVolumeAt(session.document, tests.service, RESULTS_DIR);
  if (!volumes)
    throw new StackctlError(
      'E_USAGE',
      `${tests.service} of ${tests.environment} mounts no volume at ${RESULTS_DIR}`,
      {
        hint: `mount its results volume there (volumes: ['jmeter_results:${RESULTS_DIR}'])`,
      },
    );
  return {
    image,
    project: session.model.project,
    volume: {
      volumeName: volumes.volumeName,
      volumeLabels: {
        ...volumes.volumeLabels,
        [COMPOSE_LABELS.project]: session.model.project,
        [COMPOSE_LABELS.volume]: volumes.volumeKey,
      },
    },
  };
}
