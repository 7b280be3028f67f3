import { findVariableReferences } from '../interpolate.js';
import { didYouMean } from '../suggest.js';
import { checkVariableValue, isValidRegex } from '../values.js';
import type { Rule } from './context.js';
import { walkStrings } from './walk.js';

/** Variable declarations are sound, and every ${VAR} a service uses is declared. */
export const checkVariables: Rule = ({ file, report }) => {
  const declared = Object.keys(file.variables);
  const used = new Set<string>();
  for (const profile of Object.values(file.gpuProfiles))
    for (const name of Object.keys(profile.variables)) used.add(name);
  // Backups use secrets by name: the config encryption key, a Redis password.
  if (file.backup?.encryptionKey !== undefined) used.add(file.backup.encryptionKey);
  for (const service of Object.values(file.services))
    if (service.backup?.password !== undefined) used.add(service.backup.password);

  const checkReferencesIn = (root: unknown, rootPath: (string | number)[]) =>
    walkStrings(root, rootPath, (text, path) => {
      for (const ref of findVariableReferences(text)) {
        used.add(ref.name);
        const def = file.variables[ref.name];
        if (!def) {
          report({
            path,
            message: `undeclared variable "\${${ref.name}}"`,
            hint:
              didYouMean(ref.name, declared) ||
              `declare ${ref.name} under variables (or write $$ for a literal $)`,
          });
        } else if (def.type === 'secret' && (ref.modifier.endsWith('-') || ref.modifier.endsWith('+'))) {
          report({
            path,
            message: `hardcoded credential: secret ${ref.name} has an inline fallback "${ref.modifier}…"`,
            hint: `write \${${ref.name}} with no fallback; stackctl always generates the secret`,
          });
        }
      }
    });

  for (const [name, service] of Object.entries(file.services)) checkReferencesIn(service, ['services', name]);
  for (const [envName, env] of Object.entries(file.environments)) {
    for (const [serviceName, override] of Object.entries(env.overrides ?? {}))
      checkReferencesIn(override, ['environments', envName, 'overrides', serviceName]);
  }

  for (const [name, def] of Object.entries(file.variables)) {
    const path = ['variables', name];
    if (def.pattern !== undefined && !isValidRegex(def.pattern)) {
      report({
        path: [...path, 'pattern'],
        message: `pattern is not a valid regular expression`,
        hint: 'fix the expression',
      });
    }
    if (def.type === 'secret') {
      if (def.default !== undefined) {
        report({
          path: [...path, 'default'],
          message: `hardcoded credential: secret variable ${name} has a literal default`,
          hint: 'remove the default; stackctl generates secrets per environment',
        });
      }
    } else if (def.default !== undefined) {
      const problem = checkVariableValue(def, def.default);
      if (problem)
        report({
          path: [...path, 'default'],
          message: `default ${problem}`,
          hint: `fix the default of ${name}`,
        });
    }
    if (
      def.type !== 'integer' &&
      def.type !== 'float' &&
      (def.minimum ?? def.maximum ?? def.exclusiveMinimum) !== undefined
    ) {
      report({
        path,
        message: `${name} is a ${def.type}; ranges apply to integer and float variables only`,
        hint: 'remove minimum/maximum',
      });
    }
    if (!used.has(name)) {
      report({
        path,
        at: 'key',
        severity: 'warning',
        message: `variable ${name} is declared but no service uses it`,
        hint: 'use it as ${' + name + '} in a service or remove it',
      });
    }
  }
};
