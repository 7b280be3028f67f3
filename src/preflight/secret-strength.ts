// The stored secrets of an environment, checked without ever showing a value: long enough for
// their type, from its alphabet, not a placeholder or a well-known default, and not one value
// reused for two secrets (a leak of one would open both). Pure.
import type { SecretStore } from '../generate/secrets.js';
import { WELL_KNOWN_CREDENTIALS } from '../schema/rules/credentials.js';
import type { StackFile } from '../schema/types.js';
import type { Check } from './checks.js';

const ALPHABET_TESTS = { alphanumeric: /^[A-Za-z0-9]+$/, hex: /^[0-9a-fA-F]+$/ } as const;
// Whole values people put in until they have a real one (your_password_here, changeme_later, xxxx).
const PLACEHOLDER =
  /^(change[-_ ]?me[\w-]*|change[-_ ]?it|replace[-_ ]?me[\w-]*|your[-_ ][\w-]*|todo|tbd|x+|placeholder|example|dummy|secret\d*|password\d*|insert[-_ ][\w-]*)$/i;

export function secretStrengthChecks(file: StackFile, environment: string, store: SecretStore): Check[] {
  const checks: Check[] = [];
  const rotate = (name: string): string => `stackctl secrets rotate ${environment} --name ${name}`;
  const owners = new Map<string, string[]>();
  for (const [name, entry] of Object.entries(store.secrets)) {
    const def = file.variables[name];
    if (def?.type !== 'secret') continue;
    owners.set(entry.value, [...(owners.get(entry.value) ?? []), name]);
    // A declared prefix (sk- for API keys) is not part of the random part the type describes.
    const value =
      def.prefix !== undefined && entry.value.startsWith(def.prefix)
        ? entry.value.slice(def.prefix.length)
        : entry.value;
    const type = def.secretType === undefined ? undefined : file.secretTypes[def.secretType];
    const id = `secrets.${name}`;
    const lowered = value.trim().toLowerCase();
    if (WELL_KNOWN_CREDENTIALS.has(lowered) || PLACEHOLDER.test(value.trim()) || /^(.)\1*$/.test(value)) {
      checks.push({
        id,
        status: 'fail',
        message: `${name} of ${environment} is a placeholder or a well-known default value`,
        fix: rotate(name),
      });
      continue;
    }
    if (type && value.length < type.length) {
      checks.push({
        id,
        status: 'fail',
        message: `${name} of ${environment} has ${value.length} characters; a ${def.secretType ?? ''} needs ${type.length}`,
        fix: rotate(name),
      });
      continue;
    }
    const alphabet = type?.alphabet ?? 'alphanumeric';
    if (type && !ALPHABET_TESTS[alphabet].test(value)) {
      checks.push({
        id,
        status: 'warn',
        message: `${name} of ${environment} has characters outside the ${alphabet} alphabet of its type (they may need escaping in URLs)`,
        fix: rotate(name),
      });
    }
  }
  for (const names of owners.values()) {
    if (names.length < 2) continue;
    checks.push({
      id: `secrets.reused`,
      status: 'fail',
      message: `${names.join(' and ')} of ${environment} share one value: a leak of one opens all`,
      fix: `stackctl secrets rotate ${environment} ${names
        .slice(1)
        .map((name) => `--name ${name}`)
        .join(' ')}`,
    });
  }
  if (checks.length === 0)
    checks.push({
      id: 'secrets.strength',
      status: 'pass',
      message: `the ${Object.keys(store.secrets).length} stored secrets of ${environment} are strong and distinct`,
      fix: '',
    });
  return checks;
}
