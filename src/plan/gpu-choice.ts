// Which GPU layout a run uses: decided here and nowhere else, for every command that generates,
// starts, checks or exports an environment.
import type { GpuSelection } from '../model/environment.js';
import {
  chooseGpuLayout,
  chooseWithFallback,
  GPU_MODES,
  type GpuFacts,
  type GpuMode,
  type LayoutChoice,
} from './gpu-layout.js';

/** Where the layout came from: --gpu, `gpu configure`, or the environment's own profile. */
export type GpuSource = 'asked' | 'recorded' | 'environment';

export interface GpuChoiceInput {
  readonly flag?: GpuMode;
  /** What `stackctl gpu configure` recorded for the environment. */
  readonly recorded?: { readonly profile: string; readonly variables: Readonly<Record<string, string>> };
  /** The environment's gpu.profile and gpu.fallback. */
  readonly profile: string;
  readonly fallback?: string;
  /** The host's GPUs, when they were looked at; why not, otherwise. */
  readonly detection:
    { readonly ok: true; readonly facts: GpuFacts } | { readonly ok: false; readonly why: string };
}

export interface GpuDecision {
  /** What generation and compose get. */
  readonly selection: GpuSelection;
  readonly source: GpuSource;
  /** The mode asked of the host (auto, multi, single or cpu). */
  readonly mode: GpuMode;
  /** The layout for this host, when its GPUs were looked at (cpu needs none). */
  readonly layout?: LayoutChoice;
  /** Why the host was not asked, or why its answer was not used. */
  readonly unchecked?: string;
}

export function asGpuMode(profile: string | undefined): GpuMode | undefined {
  return GPU_MODES.find((mode) => mode === profile);
}

/** Whether a run must look at the host's GPUs to decide (cpu never; the environment's own profile only when it requires GPUs). */
export function needsGpuDetection(input: Omit<GpuChoiceInput, 'detection'>, required: boolean): boolean {
  return modeOf(input) !== 'cpu' && (required || input.flag !== undefined);
}

function modeOf(input: Omit<GpuChoiceInput, 'detection'>): GpuMode {
  return input.flag ?? asGpuMode(input.recorded?.profile) ?? asGpuMode(input.profile) ?? 'auto';
}

/**
 * --gpu wins, then the recorded choice, then the environment's profile (which alone may fall back
 * to gpu.fallback when it does not fit the host). With the host's GPUs known the layout names the
 * devices; without them the profile's own values are used, and `unchecked` says why.
 */
export function decideGpu(input: GpuChoiceInput): GpuDecision {
  const mode = modeOf(input);
  const source: GpuSource =
    input.flag !== undefined ? 'asked' : input.recorded !== undefined ? 'recorded' : 'environment';
  const recorded = input.recorded
    ? { profile: input.recorded.profile, variables: { ...input.recorded.variables } }
    : undefined;
  // A recorded choice names its devices already; an asked or profile one uses the profile's values.
  const named = (profile: string): GpuSelection =>
    source === 'recorded' && recorded ? recorded : { profile, variables: {} };

  if (mode === 'cpu') return { selection: named('cpu'), source, mode };
  if (!input.detection.ok) {
    const profile = mode === 'auto' ? input.profile : mode;
    return { selection: named(profile), source, mode, unchecked: input.detection.why };
  }
  const layout =
    source === 'environment'
      ? chooseWithFallback(input.detection.facts, mode, asGpuMode(input.fallback))
      : chooseGpuLayout(input.detection.facts, mode);
  if (layout.ok)
    return {
      selection: { profile: layout.layout.profile, variables: { ...layout.layout.variables } },
      source,
      mode,
      layout,
    };
  const profile = mode === 'auto' ? input.profile : mode;
  return { selection: named(profile), source, mode, layout, unchecked: layout.reason };
}

const SOURCE_WORDS: Record<GpuSource, string> = {
  asked: 'asked with --gpu',
  recorded: 'recorded by gpu configure',
  environment: "the environment's profile",
};

/** The one line a run prints: `GPU layout: cpu (asked with --gpu)`. */
export function describeGpuDecision(decision: GpuDecision): string {
  const { selection } = decision;
  const devices = decision.layout?.ok === true ? decision.layout.layout.devices : undefined;
  const onDevices =
    devices && devices.length > 0
      ? ` on GPU${devices.length === 1 ? '' : 's'} ${devices.join(',')}` +
        (decision.layout?.ok === true && decision.layout.layout.tensorParallelSize > 1
          ? `, tensor parallel ${decision.layout.layout.tensorParallelSize}`
          : '')
      : '';
  const fallback =
    decision.layout?.ok === true && decision.layout.fallbackFrom
      ? `; ${decision.layout.fallbackFrom.mode} does not fit: ${decision.layout.fallbackFrom.reason}`
      : '';
  const unchecked =
    decision.unchecked === undefined ? '' : `; not checked against this host: ${decision.unchecked}`;
  return `GPU layout: ${selection.profile}${onDevices} (${SOURCE_WORDS[decision.source]}${fallback}${unchecked})`;
}

/** The decision as --json prints it. */
export function gpuJson(decision: GpuDecision): {
  profile: string;
  source: GpuSource;
  devices?: readonly number[];
  unchecked?: string;
} {
  return {
    profile: decision.selection.profile,
    source: decision.source,
    ...(decision.layout?.ok === true ? { devices: decision.layout.layout.devices } : {}),
    ...(decision.unchecked === undefined ? {} : { unchecked: decision.unchecked }),
  };
}
