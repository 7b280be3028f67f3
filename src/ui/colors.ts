import { Chalk, type ChalkInstance } from 'chalk';

export type Colors = ChalkInstance;

export interface ColorSettings {
  /** --no-color was given. */
  readonly noColorFlag: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly isTTY: boolean;
}

/**
 * Colour only for a person at a terminal: off with --no-color, NO_COLOR (any non-empty value,
 * see no-color.org), TERM=dumb, or when output is not a terminal. FORCE_COLOR turns it back on.
 */
export function colorEnabled({ noColorFlag, env, isTTY }: ColorSettings): boolean {
  if (noColorFlag) return false;
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  const force = env['FORCE_COLOR'];
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true;
  if (env['TERM'] === 'dumb') return false;
  return isTTY;
}

export function createColors(enabled: boolean): Colors {
  return new Chalk({ level: enabled ? 1 : 0 });
}
