// Which secrets a rotation takes: by name, by type, those due, or all; names and types checked
// against the schema's secret variables.
import { StackctlError } from '../errors.js';
import type { SecretStore } from '../generate/secrets.js';

export interface SecretSelection {
  readonly name: readonly string[];
  readonly type: readonly string[];
  readonly due?: boolean;
  readonly all?: boolean;
}

export function chooseSecrets(
  variables: Record<string, { type: string; secretType?: string }>,
  store: SecretStore,
  flags: SecretSelection,
  now: number,
): string[] {
  const declared = Object.entries(variables).filter(([, def]) => def.type === 'secret');
  const selectors =
    flags.name.length + flags.type.length + (flags.due === true ? 1 : 0) + (flags.all === true ? 1 : 0);
  if (selectors === 0) {
    throw new StackctlError('E_USAGE', 'which secrets? give --name, --type, --due or --all', {
      hint: 'stackctl secrets rotate ENV --due',
    });
  }
  const types = [...new Set(declared.map(([, def]) => def.secretType ?? ''))].filter(Boolean).sort();
  for (const type of flags.type) {
    if (!types.includes(type)) {
      throw new StackctlError('E_USAGE', `"${type}" is not a secret type any secret variable has`, {
        hint: `secret types in use: ${types.join(', ')}`,
      });
    }
  }
  for (const name of flags.name) {
    if (!declared.some(([declaredName]) => declaredName === name)) {
      throw new StackctlError('E_USAGE', `"${name}" is not a secret variable of the schema`, {
        hint: `secret variables: ${declared.map(([n]) => n).join(', ')}`,
      });
    }
  }
  return declared
    .map(([name, def]) => ({ name, def }))
    .filter(
      ({ name, def }) =>
        flags.all === true ||
        flags.name.includes(name) ||
        flags.type.includes(def.secretType ?? '') ||
        (flags.due === true && Date.parse(store.secrets[name]?.rotationDueAt ?? '') <= now),
    )
    .map(({ name }) => name);
}
