// Elasticsearch (and OpenSearch) retention through its API: whole indices older than a cutoff, by
// their creation date, are listed (GET /_cat/indices/<pattern>?format=json) and deleted
// (DELETE /<index>). Files inside its data folder are never touched: that would corrupt the index.
import { StackctlError } from '../errors.js';

export interface IndexInfo {
  readonly index: string;
  /** Creation time, epoch milliseconds. */
  readonly created: number;
}

async function call(
  url: string,
  path: string,
  method: 'GET' | 'DELETE',
  signal?: AbortSignal,
): Promise<string> {
  let response: Response;
  try {
    response = await fetch(new URL(path, url.endsWith('/') ? url : `${url}/`), {
      method,
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(60_000)]) : AbortSignal.timeout(60_000),
    });
  } catch (error) {
    throw new StackctlError(
      'E_RUNTIME',
      `Elasticsearch at ${url}: ${method} ${path} failed: ${(error as Error).message}`,
      {
        hint: 'is it running, and does indexRetention.url name its published port?',
        cause: error,
      },
    );
  }
  const text = await response.text();
  if (!response.ok)
    throw new StackctlError(
      'E_RUNTIME',
      `Elasticsearch at ${url}: ${method} ${path} answered ${response.status}: ${text.slice(0, 200).replace(/\s+/g, ' ')}`,
      { hint: 'see its logs (stackctl logs ENV elasticsearch)' },
    );
  return text;
}

/** The indices matching the pattern created before the cutoff; system (dot) indices never. */
export async function expiredIndices(
  url: string,
  pattern: string,
  cutoffMs: number,
  signal?: AbortSignal,
): Promise<IndexInfo[]> {
  const text = await call(
    url,
    `_cat/indices/${encodeURIComponent(pattern)}?format=json&h=index,creation.date&expand_wildcards=open`,
    'GET',
    signal,
  );
  const rows = JSON.parse(text) as { index?: string; 'creation.date'?: string }[];
  return rows
    .map((row) => ({ index: row.index ?? '', created: Number(row['creation.date']) }))
    .filter((row) => row.index !== '' && !row.index.startsWith('.') && Number.isFinite(row.created))
    .filter((row) => row.created < cutoffMs)
    .sort((a, b) => a.created - b.created);
}

export async function deleteIndex(url: string, index: string, signal?: AbortSignal): Promise<void> {
  await call(url, encodeURIComponent(index), 'DELETE', signal);
}
