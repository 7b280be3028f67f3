import { closest, distance } from 'fastest-levenshtein';

/** Suggests the closest known name when it is near enough to be a likely typo. */
export function suggestName(name: string, known: Iterable<string>): string | undefined {
  const candidates = [...known];
  if (candidates.length === 0) return undefined;
  // A unique abbreviation ("prod" for "production") is as likely a slip as a typo.
  const prefixed = candidates.filter((candidate) => name.length >= 3 && candidate.startsWith(name));
  if (prefixed.length === 1) return prefixed[0];
  const best = closest(name, candidates);
  const limit = Math.max(2, Math.floor(name.length / 3));
  return distance(name, best) <= limit ? best : undefined;
}

/** "did you mean "postgres"?" or a list of what is allowed. */
export function didYouMean(name: string, known: Iterable<string>, what = 'one of'): string {
  const list = [...known];
  const best = suggestName(name, list);
  if (best !== undefined) return `did you mean "${best}"?`;
  if (list.length === 0) return '';
  const shown = list.slice(0, 12).map((item) => `"${item}"`);
  return `${what}: ${shown.join(', ')}${list.length > 12 ? ', …' : ''}`;
}
