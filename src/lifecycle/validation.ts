// Validation of the stack file as `validate` runs it: the schema found and checked, and, when asked,
// each environment's stored secrets judged (their problems, never their values, as issues of the
// store file). Kept light: the secret checks load only when asked for.
import { createHash } from 'node:crypto';
import { readSchema, type SchemaSource } from '../effects/schema-file.js';
import { readCachedValidation, writeCachedValidation } from '../effects/validation-cache.js';
import { CHECKS_ID } from '../schema/generated/checks-id.js';
import { displayPathOf, projectRoot } from '../model/stack.js';
import type { StackFile } from '../schema/types.js';
import type { ValidationResult } from '../schema/validate.js';
import { markColdRun } from '../cold-run.js';
import { changedLongAgo, markReplayable } from '../replay.js';

export interface ValidationRequest {
  readonly schemaFlag: string | undefined;
  /** Environment-specific checks for this environment only. */
  readonly environment: string | undefined;
  /** Judge the stored secrets too. */
  readonly secrets: boolean;
}

export async function validateProject(
  request: ValidationRequest,
  { cwd, env }: { readonly cwd: string; readonly env: NodeJS.ProcessEnv },
): Promise<{ readonly result: ValidationResult; readonly displayPath: string }> {
  const source = await readSchema(request.schemaFlag, cwd);
  // The schema alone is a pure function of its text and this build's rules: cached by their digest.
  const key = createHash('sha256')
    .update(JSON.stringify([CHECKS_ID, source.displayPath, request.environment ?? null, source.text]))
    .digest('hex');
  const cached = request.secrets
    ? undefined
    : await readCachedValidation<Pick<ValidationResult, 'valid' | 'issues'>>(env, key);
  if (cached) {
    replayable(source, request);
    return { result: { ...cached, file: undefined }, displayPath: source.displayPath };
  }
  // Loaded only when needed: the rules and their libraries are most of what validate would load.
  const { validateStackText } = await import('../schema/validate.js');
  markColdRun();
  const checked = await validateStackText(source.text, {
    fileName: source.displayPath,
    environment: request.environment,
  });
  if (!request.secrets) {
    await writeCachedValidation(env, key, { valid: checked.valid, issues: checked.issues });
    replayable(source, request);
  }
  const result =
    request.secrets && checked.file
      ? await withSecretIssues(checked, checked.file, projectRoot(source.path), request.environment, cwd)
      : checked;
  return { result, displayPath: source.displayPath };
}

/** Without --secrets, what validate prints depends on the schema file alone (and where it was found). */
function replayable(source: SchemaSource, request: ValidationRequest): void {
  if (request.secrets || source.signature === undefined || !changedLongAgo(source.signature, Date.now()))
    return;
  markReplayable([[source.path, source.signature], ...source.absent.map((path) => [path, null] as const)]);
}

/** Adds the stored secrets' problems (never their values) as issues of each store file. */
async function withSecretIssues(
  result: ValidationResult,
  file: StackFile,
  root: string,
  only: string | undefined,
  cwd: string,
): Promise<ValidationResult> {
  const { readSecretStore, secretStorePath } = await import('../effects/secret-store.js');
  const { secretStrengthChecks } = await import('../preflight/secret-strength.js');
  const issues = [...result.issues];
  for (const env of only === undefined ? Object.keys(file.environments) : [only]) {
    const store = await readSecretStore(root, env);
    if (!store) continue;
    for (const check of secretStrengthChecks(file, env, store)) {
      if (check.status === 'pass') continue;
      issues.push({
        severity: check.status === 'fail' ? 'error' : 'warning',
        file: displayPathOf(secretStorePath(root, env), cwd),
        line: 1,
        column: 1,
        path: `${env}.${check.id.replace(/^secrets\./, '')}`,
        message: check.message,
        hint: check.fix,
      });
    }
  }
  const valid = issues.every((issue) => issue.severity !== 'error');
  return { valid, issues, file: valid ? file : undefined };
}
