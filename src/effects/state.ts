import { join } from 'node:path';
// Named imports from zod/mini so the bundle keeps only the validators used (it loads on every run).
import { array, enum as oneOf, int, minimum, object, record, string, type infer as Infer } from 'zod/mini';
import { StackctlError } from '../errors.js';
import { CHECKS_ID } from '../schema/generated/checks-id.js';
import type { StackFile } from '../schema/types.js';
import { ensureDirectory, readRegularText, writeFileAtomic } from './files.js';
import { schemaDigest, SCHEMA_NAMES, VALID_SCHEMA_DATA, type SchemaNames } from './known-schema.js';

/** Where stackctl keeps what it decided for a project (not secrets): `<root>/.stackctl/`. */
export function stateDirectory(root: string): string {
  return join(root, '.stackctl');
}

const GpuChoiceSchema = object({
  environment: string(),
  profile: oneOf(['multi', 'single', 'cpu']),
  devices: array(int().check(minimum(0))),
  tensorParallelSize: int().check(minimum(1)),
  variables: record(string(), string()),
});
export type GpuChoice = Infer<typeof GpuChoiceSchema>;

function gpuChoicePath(root: string, environment: string): string {
  return join(stateDirectory(root), `gpu-${environment}.json`);
}

/** The GPU layout `stackctl gpu configure` recorded for an environment, if any. */
export async function readGpuChoice(root: string, environment: string): Promise<GpuChoice | undefined> {
  const path = gpuChoicePath(root, environment);
  const text = await readRegularText(path);
  if (text === undefined) return undefined;
  try {
    return GpuChoiceSchema.parse(JSON.parse(text));
  } catch (error) {
    throw new StackctlError('E_USAGE', `${path} is not a GPU choice stackctl wrote`, {
      hint: `run: stackctl gpu configure ${environment}`,
      cause: error,
    });
  }
}

export async function writeGpuChoice(root: string, choice: GpuChoice): Promise<string> {
  await ensureDirectory(stateDirectory(root), 0o755);
  const path = gpuChoicePath(root, choice.environment);
  await writeFileAtomic(path, `${JSON.stringify(choice, null, 2)}\n`);
  return path;
}

const CompletedJobsSchema = record(string(), object({ containerId: string() }));
/** Jobs that finished (exit 0): their container, per service. */
export type CompletedJobs = Infer<typeof CompletedJobsSchema>;

function jobsPath(root: string, environment: string): string {
  return join(stateDirectory(root), `jobs-${environment}.json`);
}

export async function readCompletedJobs(root: string, environment: string): Promise<CompletedJobs> {
  return (await readJsonState(jobsPath(root, environment), CompletedJobsSchema)) ?? {};
}

/**
 * A state file stackctl wrote, or undefined when it is missing or not what stackctl writes (a
 * hand-edited or truncated file is only a cache miss).
 */
async function readJsonState<T>(
  path: string,
  schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } },
): Promise<T | undefined> {
  const text = await readRegularText(path);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

export async function writeCompletedJobs(
  root: string,
  environment: string,
  jobs: CompletedJobs,
): Promise<void> {
  await ensureDirectory(stateDirectory(root), 0o755);
  await writeFileAtomic(jobsPath(root, environment), `${JSON.stringify(jobs, null, 2)}\n`);
}

const CreationRecordSchema = record(string(), object({ key: string(), containers: array(string()) }));
/** Per service: the key of its last create step and the containers compose left then. */
export type CreationRecord = Infer<typeof CreationRecordSchema>;

function creationPath(root: string, environment: string): string {
  return join(stateDirectory(root), `created-${environment}.json`);
}

/** What compose left after each service's last create step (see plan/reuse.ts). */
export async function readCreationRecord(root: string, environment: string): Promise<CreationRecord> {
  return (await readJsonState(creationPath(root, environment), CreationRecordSchema)) ?? {};
}

export async function writeCreationRecord(
  root: string,
  environment: string,
  created: Readonly<Record<string, { readonly key: string; readonly containers: readonly string[] }>>,
): Promise<void> {
  await ensureDirectory(stateDirectory(root), 0o755);
  await writeFileAtomic(creationPath(root, environment), `${JSON.stringify(created, null, 2)}\n`);
}

/** The last valid schema a generate or start ran from: what runs was made from it. */
export const RECORDED_SCHEMA = '.stackctl/last-valid-schema.yaml';

export async function readRecordedSchema(root: string): Promise<string | undefined> {
  return readRegularText(join(root, RECORDED_SCHEMA));
}

/**
 * Keeps a copy of a valid schema (rewritten only when it changed), and the names quick commands
 * read from it (see known-schema.ts).
 */
export async function recordValidSchema(root: string, text: string, file: StackFile): Promise<void> {
  if (
    (await readRecordedSchema(root)) === text &&
    (await readRegularText(join(root, SCHEMA_NAMES))) !== undefined &&
    (await readRegularText(join(root, VALID_SCHEMA_DATA))) !== undefined
  )
    return;
  await ensureDirectory(stateDirectory(root), 0o755);
  await writeFileAtomic(join(root, RECORDED_SCHEMA), text);
  const names: SchemaNames = {
    sha256: schemaDigest(text),
    checks: CHECKS_ID,
    project: file.project.name,
    environments: Object.keys(file.environments),
  };
  await writeFileAtomic(join(root, VALID_SCHEMA_DATA), `${JSON.stringify({ sha256: names.sha256, file })}\n`);
  await writeFileAtomic(join(root, SCHEMA_NAMES), `${JSON.stringify(names)}\n`);
}

const PulledModelSchema = object({
  repo: string(),
  revision: string(),
  sha: string(),
  volume: string(),
  pulledAt: string(),
});
/** The model `models pull` (or a start) last put in an environment's vLLM cache volume. */
export type PulledModel = Infer<typeof PulledModelSchema>;

function pulledModelPath(root: string, environment: string): string {
  return join(stateDirectory(root), `model-${environment}.json`);
}

export async function readPulledModel(root: string, environment: string): Promise<PulledModel | undefined> {
  return readJsonState(pulledModelPath(root, environment), PulledModelSchema);
}

export async function writePulledModel(
  root: string,
  environment: string,
  pulled: PulledModel,
): Promise<void> {
  await ensureDirectory(stateDirectory(root), 0o755);
  await writeFileAtomic(pulledModelPath(root, environment), `${JSON.stringify(pulled, null, 2)}\n`);
}
