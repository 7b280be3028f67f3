import { findVariableReferences } from '../interpolate.js';
import type { Scalar } from '../types.js';
import type { Rule } from './context.js';
import { walkStrings } from './walk.js';

/** Default credentials that ship with common images and scripts; never acceptable in a stack file. */
export const WELL_KNOWN_CREDENTIALS = new Set([
  '123456',
  'admin',
  'administrator',
  'changeit',
  'change-me',
  'changeme',
  'changeme_in_production',
  'default',
  'guest',
  'letmein',
  'minio',
  'minioadmin',
  'pass',
  'passw0rd',
  'password',
  'postgres',
  'qwerty',
  'root',
  'secret',
  'test',
  'toor',
  'user',
]);

const SECRET_KEY = /(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|SALT|_KEY$)/i;
const USER_KEY = /(USER|USERNAME|LOGIN|ACCESS_?KEY)$/i;
const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/([^:/@\s]+):([^@/\s]+)@/i;

function isWellKnown(value: Scalar): boolean {
  return WELL_KNOWN_CREDENTIALS.has(String(value).trim().toLowerCase());
}

/** No literal passwords, keys or well-known default users anywhere in the stack file. */
export const checkCredentials: Rule = ({ file, report }) => {
  const checkEnvironmentMap = (env: Record<string, Scalar> | undefined, path: (string | number)[]) => {
    for (const [key, value] of Object.entries(env ?? {})) {
      const text = String(value);
      const hasReference = findVariableReferences(text).length > 0;
      if (SECRET_KEY.test(key) && !USER_KEY.test(key) && !hasReference && text !== '') {
        report({
          path: [...path, key],
          message: `hardcoded credential in ${key}`,
          hint: `declare a secret variable and write ${key}: \${NAME}`,
        });
      } else if (USER_KEY.test(key) && !hasReference && isWellKnown(value)) {
        report({
          path: [...path, key],
          message: `well-known default credential "${text}" in ${key}`,
          hint: 'use a variable with a project-specific default',
        });
      }
    }
  };
  const checkUrls = (root: unknown, rootPath: (string | number)[]) =>
    walkStrings(root, rootPath, (text, path) => {
      const match = URL_WITH_PASSWORD.exec(text);
      if (match && findVariableReferences(match[2] ?? '').length === 0) {
        report({
          path,
          message: 'hardcoded credential: URL carries a literal password',
          hint: 'write the password as ${NAME} of a secret variable',
        });
      }
    });

  for (const [name, service] of Object.entries(file.services)) {
    checkEnvironmentMap(service.environment, ['services', name, 'environment']);
    checkUrls(service, ['services', name]);
  }
  for (const [envName, env] of Object.entries(file.environments)) {
    for (const [serviceName, override] of Object.entries(env.overrides ?? {})) {
      checkEnvironmentMap(override.environment, [
        'environments',
        envName,
        'overrides',
        serviceName,
        'environment',
      ]);
      checkUrls(override, ['environments', envName, 'overrides', serviceName]);
    }
    for (const [name, value] of Object.entries(env.variables ?? {})) {
      if ((SECRET_KEY.test(name) || USER_KEY.test(name)) && isWellKnown(value)) {
        // An environment that mounts an earlier installation's data keeps the user name its data was
        // made with (a database role); changing it would lock the data out. Said, not refused.
        const keptForData = USER_KEY.test(name) && Object.keys(env.externalVolumes ?? {}).length > 0;
        report({
          path: ['environments', envName, 'variables', name],
          ...(keptForData ? { severity: 'warning' as const } : {}),
          message: `well-known default credential "${String(value)}" for ${name}${keptForData ? ', kept for the data this environment mounts' : ''}`,
          hint: keptForData
            ? 'once the data is moved (backup and restore), rename the role and choose a project-specific value'
            : 'choose a project-specific value',
        });
      }
    }
  }
  for (const [name, def] of Object.entries(file.variables)) {
    if (
      def.default !== undefined &&
      (SECRET_KEY.test(name) || USER_KEY.test(name)) &&
      isWellKnown(def.default)
    ) {
      report({
        path: ['variables', name, 'default'],
        message: `well-known default credential "${String(def.default)}" for ${name}`,
        hint: 'choose a project-specific default',
      });
    }
  }
};
