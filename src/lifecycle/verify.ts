// `stackctl verify` as a workflow: the end-to-end checks the schema declares (verify: per service),
// run against every running replica of the environment, each result told as it comes, and written
// as JUnit XML and Allure results when asked. upgrade runs the same checks as its gate.
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import { projectContainers, type ContainerSummary } from '../effects/containers.js';
import { dockerClient } from '../effects/docker.js';
import { writeFileAtomic } from '../effects/files.js';
import { execCommand, httpRequest, tcpConnect, type ProbeAnswer } from '../effects/verify-probe.js';
import { StackctlError } from '../errors.js';
import type { SecretStore } from '../generate/secrets.js';
import { redactor } from '../generate/redact.js';
import type { EnvironmentModel } from '../model/environment.js';
import type { LoadedStack } from '../model/stack.js';
import { allureResults, junitXml } from '../plan/verify-report.js';
import {
  judgeCommand,
  judgeHttp,
  verifyChecksOf,
  type CheckResult,
  type VerifyCheck,
} from '../plan/verify.js';
import { resolveRun } from './run.js';
import { testReportsOf, writeTestResults } from './test-reports.js';

export interface VerifyRequest {
  readonly envName: string;
  /** The services whose checks run; every service's when empty. */
  readonly services: readonly string[];
  readonly junitFile: string | undefined;
  /** Allure results into a folder, or into the testing environment's results volume (testReports). */
  readonly allure:
    { readonly into: 'folder'; readonly path: string } | { readonly into: 'testing-volume' } | undefined;
}

export interface VerifyView {
  checked(result: CheckResult): void;
}

export interface VerifyOutcome {
  readonly environment: string;
  readonly results: readonly CheckResult[];
  readonly passed: boolean;
  /** Services of the selection that declare no check. */
  readonly unchecked: readonly string[];
  readonly written: readonly string[];
}

export async function verifyEnvironment(
  stack: LoadedStack,
  request: VerifyRequest,
  io: { readonly env: NodeJS.ProcessEnv; readonly signal: AbortSignal; readonly cwd: string },
  view: VerifyView,
): Promise<VerifyOutcome> {
  // Where Allure results go is settled before any check runs.
  if (request.allure?.into === 'testing-volume') testReportsOf(stack);
  const run = await resolveRun(stack, { envName: request.envName });
  const model = run.model(run.likelyGpu.selection);
  const known = new Set(model.services.map((service) => service.name));
  for (const service of request.services)
    if (!known.has(service))
      throw new StackctlError('E_USAGE', `${request.envName} runs no service ${service}`, {
        hint: `its services: ${[...known].join(', ')}`,
      });
  const services = request.services.length > 0 ? request.services : [...known];
  const results = await runChecks(model, run.store, services, dockerClient(io.env), io.signal, view);
  const written = await writeReports(stack, request, results, io);
  return {
    environment: request.envName,
    results,
    passed: results.every((result) => result.status === 'passed'),
    unchecked: services.filter((service) => !results.some((result) => result.service === service)),
    written,
  };
}

/** Runs the checks of `services` against their running containers, all at once. */
export async function runChecks(
  model: EnvironmentModel,
  store: SecretStore | undefined,
  services: readonly string[],
  docker: Docker,
  signal: AbortSignal,
  view: VerifyView,
): Promise<CheckResult[]> {
  const secrets = Object.entries(store?.secrets ?? {}).map(([name, entry]) => [name, entry.value] as const);
  const values = new Map([...model.values, ...secrets]);
  const redact = redactor(secrets.map(([, value]) => value));
  const checks = verifyChecksOf(model, values, services);
  const containers = new Map<string, ContainerSummary[]>();
  for (const service of new Set(checks.map((check) => check.service)))
    containers.set(
      service,
      (await projectContainers(docker, model.project, service)).filter((c) => c.status === 'running'),
    );
  const runs = checks.flatMap((check) => {
    const running = containers.get(check.service) ?? [];
    if (running.length === 0)
      return [Promise.resolve(result(check, undefined, Date.now(), 'broken', 'no running container'))];
    return running.map((container) => runOne(check, container, docker, signal, redact));
  });
  const results = await Promise.all(
    runs.map(async (pending) => {
      const done = await pending;
      view.checked(done);
      return done;
    }),
  );
  signal.throwIfAborted();
  return results;
}

async function runOne(
  check: VerifyCheck,
  container: ContainerSummary,
  docker: Docker,
  signal: AbortSignal,
  redact: (text: string) => string,
): Promise<CheckResult> {
  const started = Date.now();
  const { probe } = check;
  const address = container.addresses[0];
  try {
    if (probe.kind === 'command') {
      const answer = await execCommand(docker, container.id, probe.argv, check.timeoutMs);
      return judged(judgeCommand(probe, answer.code, answer.text));
    }
    if (address === undefined) return result(check, container, started, 'broken', 'it has no address');
    if (probe.kind === 'tcp') {
      await tcpConnect(address, probe.port, check.timeoutMs);
      return judged(undefined);
    }
    const answer: ProbeAnswer = await httpRequest(address, probe, check.timeoutMs, signal);
    return judged(judgeHttp(probe, answer.code, answer.text));
  } catch (error) {
    return result(check, container, started, 'failed', redact((error as Error).message));
  }

  function judged(problem: string | undefined): CheckResult {
    return problem === undefined
      ? result(check, container, started, 'passed', undefined)
      : result(check, container, started, 'failed', redact(problem));
  }
}

function result(
  check: VerifyCheck,
  container: ContainerSummary | undefined,
  startedAt: number,
  status: CheckResult['status'],
  detail: string | undefined,
): CheckResult {
  return {
    service: check.service,
    stack: check.stack,
    name: check.name,
    container: container?.name,
    status,
    detail,
    startedAt,
    durationMs: Date.now() - startedAt,
  };
}

async function writeReports(
  stack: LoadedStack,
  request: VerifyRequest,
  results: readonly CheckResult[],
  io: { readonly env: NodeJS.ProcessEnv; readonly signal: AbortSignal; readonly cwd: string },
): Promise<string[]> {
  const written: string[] = [];
  const now = new Date();
  if (request.junitFile !== undefined) {
    await mkdir(dirname(request.junitFile), { recursive: true });
    await writeFileAtomic(request.junitFile, junitXml(request.envName, results, now));
    written.push(request.junitFile);
  }
  const allure = request.allure;
  if (allure?.into === 'folder') {
    await mkdir(allure.path, { recursive: true });
    for (const file of allureResults(request.envName, results, randomUUID)) {
      await writeFileAtomic(join(allure.path, file.file), file.content);
    }
    written.push(allure.path);
  } else if (allure?.into === 'testing-volume') {
    const volume = await writeTestResults(stack, allureResults(request.envName, results, randomUUID), io);
    written.push(`the volume ${volume}`);
  }
  return written;
}
