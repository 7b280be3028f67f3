// What `preflight --ci` judges, from facts gathered by lifecycle/preflight-ci.ts: the schema, ports
// published on every interface, generated files that drifted from the schema, generated secrets
// tracked by git or not ignored, and temporary files an interrupted write left.
import { resolveEnvironment } from '../model/environment.js';
import type { StackFile } from '../schema/types.js';
import type { Check } from './checks.js';

export function schemaCheck(displayPath: string, errors: number): Check {
  return errors === 0
    ? { id: 'schema', status: 'pass', message: `${displayPath} is valid`, fix: '' }
    : {
        id: 'schema',
        status: 'fail',
        message: `${displayPath} has ${errors} error${errors === 1 ? '' : 's'}`,
        fix: 'run `stackctl validate` and fix what it reports',
      };
}

export function exposureChecks(file: StackFile, envName: string): Check[] {
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
export function driftCheck(envName: string, checked: number, drifted: readonly string[]): Check {
  if (drifted.length === 0) {
    return {
      id: 'generate.drift',
      status: 'pass',
      message: `${checked} generated files match the schema`,
      fix: '',
    };
  }
  return {
    id: 'generate.drift',
    status: 'fail',
    message: `generated files missing or out of date: ${drifted.join(', ')}`,
    fix: `run \`stackctl generate ${envName}\` and commit the compose files`,
  };
}

/** Temporary files of an interrupted write (they may hold secrets), as the user would name them. */
export function leftoverTemporaryCheck(leftovers: readonly string[]): Check {
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

/**
 * Generated secrets and env files must never be committed: `tracked` is what git tracks of them
 * (undefined outside a git checkout), `unignored` the generated paths .gitignore does not cover.
 */
export function trackedSecretChecks(
  where: string,
  tracked: readonly string[] | undefined,
  unignored: readonly string[],
): Check[] {
  if (tracked === undefined) {
    return [
      {
        id: 'security.git',
        status: 'warn',
        message: `${where} is not a git checkout; tracked-secret check skipped`,
        fix: '',
      },
    ];
  }
  return [
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
  ];
}
