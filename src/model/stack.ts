// A stack file as a run holds it: the validated schema and where its project lives.
import { basename, dirname, relative } from 'node:path';
import type { StackFile } from '../schema/types.js';

/** A schema file read and validated, with where it lives. */
export interface LoadedStack {
  readonly file: StackFile;
  /** Absolute path of the stack file. */
  readonly schemaPath: string;
  readonly schemaText: string;
  /** The project folder: the parent of schemas/ (generated files and state live here). */
  readonly root: string;
}

/** The project folder of a stack file: the parent of schemas/ (generated files and state live there). */
export function projectRoot(schemaPath: string): string {
  const folder = dirname(schemaPath);
  return basename(folder) === 'schemas' ? dirname(folder) : folder;
}

/** A path as a person in `cwd` would type it: relative below it, absolute elsewhere. */
export function displayPathOf(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel === '' || rel.startsWith('..') ? path : rel;
}
