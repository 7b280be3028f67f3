import { ignoredPaths, trackedSecretFiles } from '../../effects/git.js';
import { join, relative } from 'node:path';
import { staleTemporaries } from '../../effects/files.js';
import { readSecretStore } from '../../effects/secret-store.js';
import { secretStrengthChecks } from '../../preflight/secret-strength.js';
import { readSchema } from '../../effects/schema-file.js';
import { projectRoot } from '../../model/stack.js';
import type { Issue } from '../../schema/issue.js';
import { resolveEnvironment } from '../../model/environment.js';
import type { StackFile } from '../../schema/types.js';
import { validateStackText } from '../../schema/validate.js';
import type { Check } from '../../preflight/checks.js';
import { printLine, type CommandContext } from '../context.js';
import { applyFiles } from '../../effects/apply-files.js';
import { prepareGeneration } from '../../lifecycle/generation.js';
import { requireEnvironment, type LoadedStack } from '../load-stack.js';
import { report, type PreflightFlags } from './preflight-report.js';

/**
 * `preflight --ci`: what a CI runner without GPU or Docker engine can check: the schema, and that no
 * generated secret is tracked or exposed. Problems are also printed as GitHub Actions annotations.
 */
export async function runCiChecks(
  envName: string,
  flags: PreflightFlags,
  ctx: CommandContext,
): Promise<void> {
  const source = await readSchema(flags.schema, ctx.cwd);
  const validation = await validateStackText(source.text, { fileName: source.displayPath });
  const checks: Check[] = [];
  const annotations: string[] = validation.issues.map(annotation);
  const errors = validation.issues.filter((issue) => issue.severity === 'error');
  checks.push(
    validation.valid
      ? { id: 'schema', status: 'pass', message: `${source.displayPath} is valid`, fix: '' }
      : {
          id: 'schema',
          status: 'fail',
          message: `${source.displayPath} has ${errors.length} error${errors.length === 1 ? '' : 's'}`,
          fix: 'run `stackctl validate` and fix what it reports',
        },
  );
  const root = projectRoot(source.path);
  if (validation.file) {
    requireEnvironment(validation.file, envName);
    checks.push(...exposureChecks(validation.file, envName));
    checks.push(
      await driftCheck(
        { file: validation.file, schemaPath: source.path, schemaText: source.text, root },
        envName,
        ctx,
      ),
    );
  }
  checks.push(...(await trackedSecretChecks(root, envName, ctx)));
  // Where the runner has the environment's secrets (a deploy job), they are checked too.
  const store = validation.file ? await readSecretStore(root, envName) : undefined;
  if (store && validation.file) checks.push(...secretStrengthChecks(validation.file, envName, store));
  checks.push(await leftoverTemporaryCheck(root, ctx));

  for (const check of checks) {
    if (check.status === 'pass' || check.id === 'schema') continue;
    annotations.push(
      `::${check.status === 'fail' ? 'error' : 'warning'} title=stackctl ${check.id}::${escapeData(`${check.message} (fix: ${check.fix})`)}`,
    );
  }
  if (flags.json !== true) for (const line of annotations) printLine(ctx.stdout, line);
  report(envName, checks, flags, ctx, 'ci');
}

function annotation(issue: Issue): string {
  const level = issue.severity === 'error' ? 'error' : 'warning';
  const props = `file=${escapeProperty(issue.file)},line=${issue.line},col=${issue.column},title=${escapeProperty(issue.path)}`;
  const hint = issue.hint === '' ? '' : ` (${issue.hint})`;
  return `::${level} ${props}::${escapeData(`${issue.message}${hint}`)}`;
}

// GitHub's workflow-command escaping: data escapes %, CR, LF; properties also : and ,.
function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

function exposureChecks(file: StackFile, envName: string): Check[] {
  const model = resolveEnvironment(file, envName);
  const bind = model.values.get('BIND_ADDRESS');
  const exposed = model.services.flatMap((service) =>
    service.ports.filter(
      (port) => port.hostPorts && (port.hostIp === '' || port.hostIp === '0.0.0.0' || port.hostIp === '::'),
    ),
  );
  if (exposed.length === 0) {
    return [
      {
        id: 'security.bind',
        status: 'pass',
        message: `every published port binds to ${bind ?? 'a set address'}`,
        fix: '',
      },
    ];
  }
  const names = [...new Set(exposed.map((port) => port.service))].join(', ');
  return [
    {
      id: 'security.bind',
      status: 'warn',
      message: `${names} publish${exposed.length === 1 ? 'es' : ''} ports on every interface of the host`,
      fix: 'bind to 127.0.0.1 (BIND_ADDRESS) and put nginx in front of what must be reachable',
    },
  ];
}

/** The generated files that can be shared (compose files) match the schema: `generate --check`. */
async function driftCheck(stack: LoadedStack, envName: string, ctx: CommandContext): Promise<Check> {
  const prepared = await prepareGeneration(stack, [envName], { createSecrets: false });
  const results = await applyFiles(stack.root, ctx.cwd, prepared.plan.files, { check: true });
  const drifted = results.filter((result) => result.status !== 'unchanged');
  if (drifted.length === 0) {
    return {
      id: 'generate.drift',
      status: 'pass',
      message: `${results.length} generated files match the schema`,
      fix: '',
    };
  }
  return {
    id: 'generate.drift',
    status: 'fail',
    message: `generated files missing or out of date: ${drifted.map((result) => result.path).join(', ')}`,
    fix: `run \`stackctl generate ${envName}\` and commit the compose files`,
  };
}

/** Folders stackctl writes into; a killed write leaves its temporary file (maybe full of secrets) there. */
const WRITTEN_FOLDERS = ['.', 'secrets', 'compose', '.stackctl'];

async function leftoverTemporaryCheck(root: string, ctx: CommandContext): Promise<Check> {
  const leftovers: string[] = [];
  for (const folder of WRITTEN_FOLDERS) {
    for (const name of await staleTemporaries(join(root, folder)))
      leftovers.push(relative(ctx.cwd, join(root, folder, name)));
  }
  if (leftovers.length === 0)
    return {
      id: 'security.leftovers',
      status: 'pass',
      message: 'no temporary file of an interrupted write is left',
      fix: '',
    };
  return {
    id: 'security.leftovers',
    status: 'fail',
    message: `temporary files of an interrupted write (they may hold secrets): ${leftovers.join(', ')}`,
    fix: `remove them (rm ${leftovers.join(' ')}); the next stackctl generate also does`,
  };
}

/** Generated secrets and env files must never be committed. */
async function trackedSecretChecks(root: string, envName: string, ctx: CommandContext): Promise<Check[]> {
  const trackedFiles = await trackedSecretFiles(root, ctx.env);
  if (trackedFiles === undefined) {
    return [
      {
        id: 'security.git',
        status: 'warn',
        message: `${relative(ctx.cwd, root) || '.'} is not a git checkout; tracked-secret check skipped`,
        fix: '',
      },
    ];
  }
  const tracked = trackedFiles.filter((path) => !path.endsWith('.example'));
  const checks: Check[] = [];
  checks.push(
    tracked.length === 0
      ? {
          id: 'security.tracked',
          status: 'pass',
          message: 'no generated secret or env file is tracked by git',
          fix: '',
        }
      : {
          id: 'security.tracked',
          status: 'fail',
          message: `tracked by git: ${tracked.join(', ')}`,
          fix: 'git rm --cached them, rotate the secrets they hold, and keep them in .gitignore',
        },
  );
  const probes = [`.env.${envName}`, `secrets/.env.${envName}.json`, `k8s-secrets-${envName}.yaml`];
  const covered = await ignoredPaths(root, probes, ctx.env);
  const unignored = probes.filter((path) => !covered.has(path));
  checks.push(
    unignored.length === 0
      ? {
          id: 'security.gitignore',
          status: 'pass',
          message: '.gitignore covers generated env files and secrets',
          fix: '',
        }
      : {
          id: 'security.gitignore',
          status: 'fail',
          message: `.gitignore does not cover ${unignored.join(', ')}`,
          fix: 'add .env.*, secrets/ and k8s-secrets-*.yaml to .gitignore',
        },
  );
  return checks;
}
