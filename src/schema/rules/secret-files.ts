import type { Rule } from './context.js';

/**
 * secretFiles names environment keys of the same service whose value is exactly one secret variable:
 * only then can the value move from the environment into a mounted file.
 */
export const checkSecretFiles: Rule = ({ file, report }) => {
  for (const [name, service] of Object.entries(file.services)) {
    const fileVariables = new Map<string, string>();
    for (const [key, fileVariable] of Object.entries(service.secretFiles ?? {})) {
      const path = ['services', name, 'secretFiles', key];
      const value = service.environment?.[key];
      if (value === undefined) {
        report({
          path,
          message: `"${name}" sets no environment variable ${key}`,
          hint: `list only keys of services.${name}.environment`,
        });
        continue;
      }
      const variable = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(String(value))?.[1];
      if (variable === undefined || file.variables[variable]?.type !== 'secret') {
        report({
          path,
          message: `${key} of "${name}" is ${JSON.stringify(String(value))}, not one secret variable`,
          hint: `set ${key}: \${SOME_SECRET} (a variable of type secret), or drop it from secretFiles`,
        });
      }
      if (Object.hasOwn(service.environment ?? {}, fileVariable) || fileVariables.has(fileVariable)) {
        report({
          path,
          message: `${fileVariable} is already set for "${name}"`,
          hint: 'give each secret file variable its own name',
        });
      }
      fileVariables.set(fileVariable, key);
    }
  }
};
