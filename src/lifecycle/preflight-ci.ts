// `preflight --ci` gathering: what a CI runner without GPU or Docker engine can look at (the schema,
// the generated files against it, what git tracks and ignores, leftover temporary files, the
// secret store where the runner has one), handed to preflight/ci-checks.ts to judge.
import { join, relative } from 'node:path';
import { applyFiles } from '../effects/apply-files.js';
import { staleTemporaries } from '../effects/files.js';
import { ignoredPaths, trackedSecretFiles } from '../effects/git.js';
import { readSchema } from '../effects/schema-file.js';
import { readSecretStore } from '../effects/secret-store.js';
import { projectRoot, requireEnvironment, type LoadedStack } from '../model/stack.js';
import type { Check } from '../preflight/checks.js';
import {
  driftCheck,
  exposureChecks,
  leftoverTemporaryCheck,
  schemaCheck,
  trackedSecretChecks,
} from '../preflight/ci-checks.js';
import { secretStrengthChecks } from '../preflight/secret-strength.js';
import type { Issue } from '../schema/issue.js';
import { validateStackText } from '../schema/validate.js';
import { prepareGeneration } from './generation.js';

/** Folders stackctl writes into; a killed write leaves its temporary file (maybe full of secrets) there. */
const WRITTEN_FOLDERS = ['.', 'secrets', 'compose', '.stackctl'];

export interface CiAssessment {
  /** The schema's issues, for annotations at their lines. */
  readonly issues: readonly Issue[];
  readonly checks: readonly Check[];
}

export async function assessForCi(
  envName: string,
  schemaFlag: string | undefined,
  io: { readonly cwd: string; readonly env: NodeJS.ProcessEnv },
): Promise<CiAssessment> {
  const source = await readSchema(schemaFlag, io.cwd);
  const validation = await validateStackText(source.text, { fileName: source.displayPath });
  const errors = validation.issues.filter((issue) => issue.severity === 'error');
  const checks: Check[] = [schemaCheck(source.displayPath, errors.length)];
  const root = projectRoot(source.path);
  const file = validation.file;
  if (file) {
    requireEnvironment(file, envName);
    checks.push(...exposureChecks(file, envName));
    const stack: LoadedStack = { file, schemaPath: source.path, schemaText: source.text, root };
    const prepared = await prepareGeneration(stack, [envName], { createSecrets: false });
    const results = await applyFiles(root, io.cwd, prepared.plan.files, { check: true });
    checks.push(
      driftCheck(
        envName,
        results.length,
        results.filter((result) => result.status !== 'unchanged').map((result) => result.path),
      ),
    );
  }
  const probes = [`.env.${envName}`, `secrets/.env.${envName}.json`, `k8s-secrets-${envName}.yaml`];
  const tracked = await trackedSecretFiles(root, io.env);
  const covered = tracked === undefined ? new Set<string>() : await ignoredPaths(root, probes, io.env);
  checks.push(
    ...trackedSecretChecks(
      relative(io.cwd, root) || '.',
      tracked?.filter((path) => !path.endsWith('.example')),
      probes.filter((path) => !covered.has(path)),
    ),
  );
  // Where the runner has the environment's secrets (a deploy job), they are checked too.
  const store = file ? await readSecretStore(root, envName) : undefined;
  if (store && file) checks.push(...secretStrengthChecks(file, envName, store));
  const leftovers: string[] = [];
  for (const folder of WRITTEN_FOLDERS)
    for (const name of await staleTemporaries(join(root, folder)))
      leftovers.push(relative(io.cwd, join(root, folder, name)));
  checks.push(leftoverTemporaryCheck(leftovers));
  return { issues: validation.issues, checks };
}
