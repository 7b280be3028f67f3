// The shapes a start works with: what it is asked, what it shows, what it finds.
import type Docker from 'dockerode';
import type { FileResult } from '../effects/apply-files.js';
import { requireCompose } from '../effects/compose-runner.js';
import { dockerClient, type ComposeFlavour } from '../effects/docker.js';
import type { WaitResult } from '../effects/health-waiter.js';
import type { ServiceState } from '../health/classify.js';
import type { EnvironmentModel } from '../model/environment.js';
import type { LeftDown } from '../plan/left-down.js';
import type { GpuMode } from '../plan/gpu-layout.js';
import type { StartPlan } from '../plan/start.js';
import type { Check } from '../preflight/checks.js';
import type { Progress } from '../ui/progress.js';
import type { UiContext } from '../ui/terminal.js';
import type { CreationBasis } from './creation.js';

export type { ContainerSummary } from '../effects/containers.js';
export type { WaitResult } from '../effects/health-waiter.js';

/** Hides known secret values in text compose or a container printed. */
type Redact = (text: string) => string;

export interface StartRequest {
  readonly envName: string;
  readonly stacks: readonly string[];
  readonly services: readonly string[];
  readonly gpu?: GpuMode;
  readonly timeoutMs: number;
  /** How long every service must stay ready after the last one became ready. */
  readonly settleMs: number;
  readonly wait: boolean;
  /** run: check the host first; skip: the user said not to; caller: the calling command checked. */
  readonly preflight: 'run' | 'skip' | 'caller';
  /** Preflight checks not to run (their ids, as `preflight --json` prints them). */
  readonly skipChecks?: readonly string[];
  readonly dryRun: boolean;
  /** The caller holds the environment's lock (a restore or rotation starting services again). */
  readonly lockHeld?: boolean;
}

/** What a person sees while start runs; the caller decides how (spinners, lines, or nothing). */
export interface StartView {
  /** The user said not to check the host (said once the start really begins, under its lock). */
  skippedPreflight(): void;
  /** Non-passing preflight checks; `failed` when one of them stops the start. */
  preflight(findings: readonly Check[], failed: boolean): void;
  /** Something that takes a while: a spinner or a line, or undefined when nothing is shown. */
  progress(text: string): Progress | undefined;
  /**
   * The launch of the graph, from the first create to the last ready service: the view reads the
   * counts whenever it redraws (a spinner shows the phase, what is pending and the time so far).
   */
  launching(counts: () => StartCounts): Progress | undefined;
  /** A service changed state while waiting. */
  serviceChanged(service: string, state: ServiceState, progress: StartCounts): void;
  /** Every selected service of a stack is ready. */
  stackReady(stack: string, progress: StartCounts): void;
  /** A line worth a person's attention (a repair, an applied rotation). */
  note(text: string): void;
  /** A line of compose's about pulling or building images (a first start pulls many GB). */
  transfer(line: string): void;
  /** Output of a compose run that failed. */
  composeOutput(text: string): void;
}

export interface StartCounts {
  readonly ready: number;
  readonly total: number;
  readonly elapsedMs: number;
  /** Stacks with a service launched but not every service ready. */
  readonly starting: readonly string[];
  /** creating: compose is creating (or recreating) containers; starting: services are being launched; waiting: all launched, some not ready. */
  readonly phase: 'creating' | 'starting' | 'waiting';
  /** The services compose is creating now (phase creating). */
  readonly creating: readonly string[];
  /** Services not ready yet, in graph order. */
  readonly pending: readonly string[];
}

export interface StartIo extends UiContext {
  readonly cwd: string;
}

/** The container of a failed service a person should look at, and what it last said. */
export interface FailureDiagnosis {
  readonly container: string | undefined;
  readonly lastHealthcheck: string | undefined;
  readonly logs: readonly string[];
}

/**
 * What a start found, for the caller to report: the same steps on compose and on a swarm, which
 * differ only in what their launch step adds (Launch) and how each service ended (Result).
 */
export type RunOutcome<Result, Launch extends object = object, Failed extends object = object> =
  | ({
      readonly kind: 'planned';
      readonly plan: StartPlan;
      readonly files: readonly FileResult[];
      readonly model: EnvironmentModel;
      readonly findings: readonly Check[];
    } & Launch)
  | { readonly kind: 'preflight-failed'; readonly findings: readonly Check[] }
  | ({
      readonly kind: 'started' | 'failed';
      readonly model: EnvironmentModel;
      /** Each service's state as last seen: when not waited for, what Docker says right after. */
      readonly results: readonly Result[];
      /** The service that failed (kind failed). */
      readonly failure?: Result;
      readonly elapsedMs: number;
      readonly findings: readonly Check[];
      readonly waited: boolean;
    } & Launch &
      Failed);

/** A compose start's outcome. */
export type StartOutcome = RunOutcome<
  WaitResult,
  object,
  {
    /** What its container says (kind failed): last healthcheck output and log lines, redacted. */
    readonly diagnosis?: FailureDiagnosis;
    /** Services that ran before this start and do not run after it (a failed start). */
    readonly leftDown?: readonly LeftDown[];
  }
>;

/**
 * What start asks of the host before anything else: where compose is and the engine's API version
 * (it decides how healthchecks run). Both are process or network round trips, so they are asked at
 * once and answered while the schema is read and files are generated.
 */
export interface EngineLookup {
  readonly docker: Docker;
  readonly compose: Promise<ComposeFlavour>;
  readonly apiVersion: Promise<string | undefined>;
}

export function lookUpEngine(env: NodeJS.ProcessEnv): EngineLookup {
  const docker = dockerClient(env);
  const compose = requireCompose(env);
  compose.catch(() => undefined); // awaited when compose is first needed
  const apiVersion = docker.version().then(
    (version) => version.ApiVersion,
    () => undefined,
  );
  return { docker, compose, apiVersion };
}

/** The graph and what launching it needs: planned from what compose will really run. */
export interface PlannedLaunch {
  readonly plan: StartPlan;
  readonly legacyEngine: boolean;
  readonly composeEnv: NodeJS.ProcessEnv;
  readonly redact: Redact;
  /** What compose resolved, when it was asked (create steps with nothing to do are skipped). */
  readonly creation?: CreationBasis;
}
