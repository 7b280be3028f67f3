// A stack file as a run holds it: the validated schema and where its project lives.
import { basename, dirname, relative } from 'node:path';
import { StackctlError } from '../errors.js';
import { didYouMean } from '../schema/suggest.js';
import type { EnvironmentDef, StackFile } from '../schema/types.js';

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

/** The environment of that name, or a usage error naming the closest one. */
export function requireEnvironment(file: StackFile, name: string): EnvironmentDef {
  const env = Object.hasOwn(file.environments, name) ? file.environments[name] : undefined;
  if (!env) {
    throw new StackctlError('E_USAGE', `unknown environment "${name}"`, {
      hint: didYouMean(name, Object.keys(file.environments)),
    });
  }
  return env;
}
