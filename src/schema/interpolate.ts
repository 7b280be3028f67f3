/** A `${NAME}`-style reference found in a compose value. */
export interface VariableReference {
  readonly name: string;
  /** The compose modifier: `:-`, `-`, `:?`, `?`, `:+`, `+`, or '' for a plain reference. */
  readonly modifier: string;
  /** Text after the modifier (a default, an error message or an alternative). */
  readonly operand: string;
}

const BRACED = /^\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}/;
const BARE = /^([A-Za-z_][A-Za-z0-9_]*)/;

/** Lists the variables a compose string refers to; `$$` is a literal dollar and refers to nothing. */
export function findVariableReferences(text: string): VariableReference[] {
  const refs: VariableReference[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '$') continue;
    const next = text[i + 1];
    if (next === '$') {
      i++;
      continue;
    }
    const rest = text.slice(i + 1);
    const braced = BRACED.exec(rest);
    if (braced) {
      refs.push({ name: braced[1] ?? '', modifier: braced[2] ?? '', operand: braced[3] ?? '' });
      i += braced[0].length;
      continue;
    }
    const bare = BARE.exec(rest);
    if (bare) {
      refs.push({ name: bare[1] ?? '', modifier: '', operand: '' });
      i += bare[0].length;
    }
  }
  return refs;
}

/** True when the whole string is exactly one plain reference, such as `${POSTGRES_PASSWORD}`. */
export function isSingleReference(text: string): boolean {
  return /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(text);
}

/**
 * Replaces references with values the way compose does (defaults and alternatives included).
 * Returns undefined names in `missing` rather than failing, so callers can report them.
 */
export function interpolate(
  text: string,
  values: ReadonlyMap<string, string>,
): { value: string; missing: string[] } {
  const missing: string[] = [];
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i] ?? '';
    if (char !== '$') {
      out += char;
      continue;
    }
    if (text[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    const rest = text.slice(i + 1);
    const braced = BRACED.exec(rest);
    const bare = braced ? null : BARE.exec(rest);
    const match = braced ?? bare;
    if (!match) {
      out += char;
      continue;
    }
    const name = match[1] ?? '';
    const modifier = braced?.[2] ?? '';
    const operand = braced?.[3] ?? '';
    const value = values.get(name);
    const unsetOrEmpty = value === undefined || (modifier.startsWith(':') && value === '');
    if (modifier.endsWith('-')) out += unsetOrEmpty ? operand : value;
    else if (modifier.endsWith('+')) out += unsetOrEmpty ? '' : operand;
    else if (value === undefined) missing.push(name);
    else out += value;
    i += match[0].length;
  }
  return { value: out, missing };
}
