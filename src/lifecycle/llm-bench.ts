// `stackctl bench ENV --llm`: streamed chat completions through the environment's gateway (the
// schema's loadTests.llm: LiteLLM through nginx in the shipped stack) from a small built-in client,
// no JMeter needed. N users each send one request after another until the duration is up; the
// host reaches the target at its container's address on its network (nothing is published).
import { saveBenchRecord } from '../effects/bench-records.js';
import { projectContainers } from '../effects/containers.js';
import { dockerClient } from '../effects/docker.js';
import { streamChat } from '../effects/llm-client.js';
import { StackctlError } from '../errors.js';
import type { LoadedStack } from '../model/stack.js';
import {
  benchRunId,
  resolveLoadTarget,
  type BenchLoad,
  type BenchRecord,
  type BenchTarget,
} from '../plan/bench.js';
import {
  streamsAsSamples,
  summariseStreams,
  timingOf,
  type LlmSummary,
  type StreamTiming,
} from '../plan/llm-bench.js';
import { interpolate } from '../schema/interpolate.js';
import type { EnvironmentModel } from '../model/environment.js';
import { loadTestsOf } from './bench.js';
import { resolveRun } from './run.js';

export interface LlmBenchRequest {
  readonly envName: string;
  readonly target: string | undefined;
  readonly load: BenchLoad;
  readonly prompt: string;
  readonly maxTokens: number;
}

export interface LlmBenchView {
  /** After each request: how many are done so far. */
  progress(done: number, failed: number): void;
}

export interface LlmBenchOutcome {
  readonly record: BenchRecord;
  readonly recordPath: string;
  readonly llm: LlmSummary;
}

const REQUEST_TIMEOUT_MS = 300_000;

export async function runLlmBench(
  stack: LoadedStack,
  request: LlmBenchRequest,
  io: { readonly env: NodeJS.ProcessEnv; readonly signal: AbortSignal },
  view: LlmBenchView,
): Promise<LlmBenchOutcome> {
  const tests = loadTestsOf(stack);
  const llm = tests.llm;
  if (!llm && request.target === undefined)
    throw new StackctlError('E_USAGE', 'the schema declares no LLM endpoint to measure', {
      hint: 'add loadTests.llm (target, path, model, key), or give --target URL',
    });
  const run = await resolveRun(stack, { envName: request.envName });
  const model = run.model(run.likelyGpu.selection);
  const target = resolveLoadTarget(llm?.target, model, request.target);
  const key = llm?.key === undefined ? undefined : run.store?.secrets[llm.key]?.value;
  if (llm?.key !== undefined && key === undefined)
    throw new StackctlError('E_USAGE', `${request.envName} has no secret ${llm.key}`, {
      hint: `stackctl generate ${request.envName} creates its secrets`,
    });
  const address = await reachableHost(model, target, io.env);
  const path = target.service === undefined ? '' : (llm?.path ?? '/v1/chat/completions');
  const url = `${target.scheme}://${address}:${String(target.port)}${target.base}${path}`;
  const modelName = interpolate(llm?.model ?? 'default', model.values).value;

  const now = new Date();
  const started = performance.now();
  const deadline = started + request.load.durationSeconds * 1000;
  const timings: StreamTiming[] = [];
  let failed = 0;
  const user = async (index: number): Promise<void> => {
    const delay =
      request.load.users <= 1 ? 0 : (index * request.load.rampSeconds * 1000) / request.load.users;
    if (delay > 0) await sleep(delay, io.signal);
    while (performance.now() < deadline && !io.signal.aborted) {
      const timing = timingOf(
        await streamChat(
          {
            url,
            key,
            model: modelName,
            prompt: request.prompt,
            maxTokens: request.maxTokens,
            timeoutMs: REQUEST_TIMEOUT_MS,
          },
          io.signal,
        ),
      );
      timings.push(timing);
      if (timing.error !== undefined) failed++;
      view.progress(timings.length, failed);
    }
  };
  await Promise.all(Array.from({ length: request.load.users }, (_, index) => user(index)));
  io.signal.throwIfAborted();
  const wallMs = performance.now() - started;
  const summary = summariseStreams(timings, wallMs);
  const record: BenchRecord = {
    id: benchRunId(now, 'llm'),
    environment: request.envName,
    plan: 'llm',
    target: target.label,
    startedAt: now.toISOString(),
    load: request.load,
    image: '',
    results: undefined,
    summary: streamsAsSamples('chat completion (streamed)', timings),
    llm: summary,
  };
  const recordPath = await saveBenchRecord(stack.root, record);
  return { record, recordPath, llm: summary };
}

/** The address the host reaches the target at: a running container's, or the URL's host. */
async function reachableHost(
  model: EnvironmentModel,
  target: BenchTarget,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  if (target.service === undefined) return target.host;
  const running = (await projectContainers(dockerClient(env), model.project, target.host)).filter(
    (container) => container.status === 'running' && container.addresses.length > 0,
  );
  const address = running[0]?.addresses[0];
  if (address === undefined)
    throw new StackctlError('E_RUNTIME', `${target.host} of ${model.name} is not running`, {
      hint: `start it first: stackctl start ${model.name}`,
    });
  return address;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
