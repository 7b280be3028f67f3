/** A `${NAME}`-style reference found in a compose value. */
export interface VariableReference {
  readonly name: string;
  /** The compose modifier: `:-`, `-`, `:?`, `?`, `:+`, `+`, or '' for a plain reference. */
  readonly modifier: string;
  /** Text after the modifier (a default, an error message or an alternative). */
  readonly operand: string;
}

const BRACED_NAME = /^\{([A-Za-z_][A-Za-z0-9_]*)/;
const MODIFIER = /^:?[-?+]/;
const BARE = /^([A-Za-z_][A-Za-z0-9_]*)/;

interface BracedMatch {
  readonly name: string;
  readonly modifier: string;
  /** The default, error message or alternative: itself interpolated, so it may hold ${...}. */
  readonly operand: string;
  /** Characters taken from `{` to the closing `}`. */
  readonly length: number;
}

/** `{NAME}`, `{NAME:-operand}`... at the start of text (after a `$`), with nested `${...}` in the operand. */
function matchBraced(text: string): BracedMatch | undefined {
  const name = BRACED_NAME.exec(text);
  if (!name) return undefined;
  let i = name[0].length;
  if (text[i] === '}') return { name: name[1] ?? '', modifier: '', operand: '', length: i + 1 };
  const modifier = MODIFIER.exec(text.slice(i))?.[0];
  if (modifier === undefined) return undefined;
  i += modifier.length;
  const start = i;
  let depth = 0;
  for (; i < text.length; i++) {
    if (text[i] === '$' && (text[i + 1] === '$' || text[i + 1] === '{')) {
      if (text[i + 1] === '{') depth++;
      i++;
    } else if (text[i] === '}') {
      if (depth === 0) return { name: name[1] ?? '', modifier, operand: text.slice(start, i), length: i + 1 };
      depth--;
    }
  }
  return undefined;
}

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
    const braced = matchBraced(rest);
    if (braced) {
      refs.push({ name: braced.name, modifier: braced.modifier, operand: braced.operand });
      refs.push(...findVariableReferences(braced.operand));
      i += braced.length;
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
    const braced = matchBraced(rest);
    const bare = braced ? null : BARE.exec(rest);
    if (!braced && !bare) {
      out += char;
      continue;
    }
    const name = braced?.name ?? bare?.[1] ?? '';
    const modifier = braced?.modifier ?? '';
    const value = values.get(name);
    const unsetOrEmpty = value === undefined || (modifier.startsWith(':') && value === '');
    // The operand is interpolated too, as compose does: ${A:-${B}} is B's value when A is unset.
    const operand = (): string => {
      const inner = interpolate(braced?.operand ?? '', values);
      missing.push(...inner.missing);
      return inner.value;
    };
    if (modifier.endsWith('-')) out += unsetOrEmpty ? operand() : value;
    else if (modifier.endsWith('+')) out += unsetOrEmpty ? '' : operand();
    else if (value === undefined) missing.push(name);
    else out += value;
    i += braced?.length ?? bare?.[0].length ?? 0;
  }
  return { value: out, missing };
}
