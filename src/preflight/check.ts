// What a preflight check is, what every check is given, and the thresholds they share.
import type { HostFacts } from '../host/facts.js';
import type { EnvironmentModel } from '../model/environment.js';
import type { GpuMode, LayoutChoice } from '../plan/gpu-layout.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

/** One preflight finding: what was checked, how it went, and how to fix it. */
export interface Check {
  readonly id: string;
  readonly status: CheckStatus;
  readonly message: string;
  readonly fix: string;
}

export interface PreflightInput {
  readonly model: EnvironmentModel;
  readonly facts: HostFacts;
  /** The GPU mode asked for (--gpu, the recorded choice, or the environment's profile). */
  readonly gpuMode: GpuMode;
  /** The layout for this host; undefined when no GPU is needed or GPU detection failed. */
  readonly layout: LayoutChoice | undefined;
  /** The caller generates the environment's files next (start): a missing generated config file is fine. */
  readonly generatesFiles?: boolean;
}

/** Free disk an environment needs unless it says otherwise (diskMinimumGb). */
export const DEFAULT_DISK_MINIMUM_GB = 20;
export const RECLAIMABLE_WARN_SHARE = 0.3;
/** Below this, reclaimable space is not worth a warning whatever its share (2 MB of 4 MB is 50%). */
export const RECLAIMABLE_WARN_BYTES = 1e9;
export const ELASTICSEARCH_MAX_MAP_COUNT = 262_144;
/** Docker API version that supports healthcheck start_interval (Engine 25). */
export const START_INTERVAL_API = '1.44';

export function pass(id: string, message: string): Check {
  return { id, status: 'pass', message, fix: '' };
}

/** Docker sizes: a number of bytes, or 512m, 16g, 1gb. */
export function parseSize(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/i.exec(value.trim());
  if (!match) return undefined;
  const unit = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? '').toLowerCase()] ?? 1;
  return Number(match[1]) * unit;
}
