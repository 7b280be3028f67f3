import { findVariableReferences } from '../schema/interpolate.js';
import type { StackFile } from '../schema/types.js';

/**
 * Replaces every known secret value with *** (longest first, so prefixes do not leak). A value of
 * several lines is also redacted line by line: logs print it one line at a time.
 */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const pieces = secrets.flatMap((value) => [value, ...value.split(/\r?\n/).map((line) => line.trim())]);
  const values = [...new Set(pieces.filter((value) => value.length >= 4))].sort(
    (a, b) => b.length - a.length,
  );
  return (text) => values.reduce((out, value) => out.split(value).join('***'), text);
}

/**
 * The container environment variables of a service that carry a secret: those named like a secret
 * variable, and those the schema builds from one (DATABASE_URL: postgresql://u:${POSTGRES_PASSWORD}@...).
 */
export function secretBearingNames(file: StackFile, service: string): Set<string> {
  const isSecret = (name: string): boolean => file.variables[name]?.type === 'secret';
  const names = new Set(Object.keys(file.variables).filter(isSecret));
  for (const [name, value] of Object.entries(file.services[service]?.environment ?? {})) {
    if (typeof value !== 'string') continue;
    if (findVariableReferences(value).some((ref) => isSecret(ref.name))) names.add(name);
  }
  return names;
}
