import { findVariableReferences } from '../interpolate.js';
import type { Rule } from './context.js';

/**
 * A verify command runs through docker exec: its arguments are seen by anything that lists the
 * container's processes, so a secret never goes there as ${VAR}; the container has it in its own
 * environment. HTTP headers may carry secrets (they travel to the service, never into argv).
 */
export const checkVerify: Rule = ({ file, report }) => {
  for (const [name, service] of Object.entries(file.services)) {
    for (const [index, check] of (service.verify ?? []).entries()) {
      for (const argument of check.command ?? []) {
        for (const reference of findVariableReferences(argument)) {
          if (file.variables[reference.name]?.type !== 'secret') continue;
          report({
            path: ['services', name, 'verify', index, 'command'],
            message: `the verify command of "${name}" passes the secret ${reference.name} as an argument`,
            hint: `read it from the container's environment instead: ['sh', '-c', '... "$$${reference.name}"']`,
          });
        }
      }
    }
  }
};
