import { SCHEMA_FORMAT_VERSION, STACKCTL_VERSION } from '../version.js';

/** What --version prints: stackctl's version and the schema format it reads. */
export const VERSION_LINE = `stackctl ${STACKCTL_VERSION} (schema format ${SCHEMA_FORMAT_VERSION})`;

/** `stackctl --version` without loading the command-line parser; exit 0. */
export function printVersion(stdout: { write(text: string): unknown }): Promise<number> {
  stdout.write(`${VERSION_LINE}\n`);
  return Promise.resolve(0);
}
