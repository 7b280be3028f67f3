// What bench --llm measures of streamed chat completions, as the original benchmark.sh did for
// vLLM and as vLLM's own benchmark names it: time to first token (TTFT), inter-token latency (ITL:
// the gaps between streamed chunks), output tokens per second over the run and per request. The
// server-sent event stream is parsed here too. Pure.
import { JtlAccumulator, percentile, type BenchSummary } from './bench-summary.js';

/** One streamed request as the client timed it (ms since the request was sent). */
export interface StreamTiming {
  readonly startedAt: number;
  /** Undefined when no content arrived. */
  readonly firstTokenMs: number | undefined;
  readonly totalMs: number;
  /** Times of each content chunk after the first, relative to the request. */
  readonly chunkTimesMs: readonly number[];
  /** The completion tokens the server reported (usage), else the content chunks counted. */
  readonly outputTokens: number;
  readonly status: number;
  /** Why it failed; undefined when it succeeded. */
  readonly error: string | undefined;
}

/** What the client saw of one request: its status, each read with when it arrived, or an error. */
export interface StreamReads {
  readonly startedAt: number;
  readonly status: number;
  readonly reads: readonly { readonly atMs: number; readonly text: string }[];
  readonly totalMs: number;
  readonly error: string | undefined;
}

/** The timing of one streamed answer from its reads: when content came, how many tokens. */
export function timingOf(stream: StreamReads): StreamTiming {
  let firstTokenMs: number | undefined;
  const chunkTimesMs: number[] = [];
  let chunks = 0;
  let reported: number | undefined;
  let error = stream.error;
  let buffer = '';
  for (const read of stream.reads) {
    const taken = takeEvents(buffer + read.text);
    buffer = taken.rest;
    for (const event of taken.events) {
      if (event.error !== undefined) error ??= event.error;
      if (event.completionTokens !== undefined) reported = event.completionTokens;
      if (event.content === '') continue;
      chunks++;
      if (firstTokenMs === undefined) firstTokenMs = read.atMs;
      else chunkTimesMs.push(read.atMs);
    }
  }
  if (error === undefined && firstTokenMs === undefined) error = 'the stream carried no content';
  return {
    startedAt: stream.startedAt,
    firstTokenMs,
    totalMs: stream.totalMs,
    chunkTimesMs,
    outputTokens: reported ?? chunks,
    status: stream.status,
    error,
  };
}

export interface LlmSummary {
  readonly requests: number;
  readonly failed: number;
  readonly outputTokens: number;
  /** Output tokens per second over the whole run (all users together). */
  readonly tokensPerSecond: number;
  readonly ttftMs: { readonly p50: number; readonly p95: number };
  readonly itlMs: { readonly p50: number; readonly p95: number };
  /** Each request's decode rate (tokens after the first, per second after the first token). */
  readonly requestTokensPerSecond: { readonly p50: number };
}

export function summariseStreams(timings: readonly StreamTiming[], wallMs: number): LlmSummary {
  const ok = timings.filter((timing) => timing.error === undefined);
  const ttft = sorted(
    ok.flatMap((timing) => (timing.firstTokenMs === undefined ? [] : [timing.firstTokenMs])),
  );
  const gaps = sorted(
    ok.flatMap((timing) => {
      const times = [timing.firstTokenMs ?? 0, ...timing.chunkTimesMs];
      return times.slice(1).map((time, i) => time - (times[i] ?? time));
    }),
  );
  const rates = sorted(
    ok.flatMap((timing) => {
      const decodeMs = timing.totalMs - (timing.firstTokenMs ?? timing.totalMs);
      return timing.outputTokens > 1 && decodeMs > 0 ? [((timing.outputTokens - 1) * 1000) / decodeMs] : [];
    }),
  );
  const outputTokens = ok.reduce((sum, timing) => sum + timing.outputTokens, 0);
  return {
    requests: timings.length,
    failed: timings.length - ok.length,
    outputTokens,
    tokensPerSecond: wallMs > 0 ? round((outputTokens * 1000) / wallMs) : 0,
    ttftMs: { p50: round(percentile(ttft, 0.5)), p95: round(percentile(ttft, 0.95)) },
    itlMs: { p50: round(percentile(gaps, 0.5)), p95: round(percentile(gaps, 0.95)) },
    requestTokensPerSecond: { p50: round(percentile(rates, 0.5)) },
  };
}

/** The same requests as a load test summary (one sampler), so bench compare reads both kinds of run. */
export function streamsAsSamples(label: string, timings: readonly StreamTiming[]): BenchSummary {
  const accumulator = new JtlAccumulator();
  for (const timing of timings)
    accumulator.add({
      timeStamp: String(timing.startedAt),
      elapsed: String(Math.round(timing.totalMs)),
      label,
      success: timing.error === undefined ? 'true' : 'false',
      responseCode: String(timing.status),
      responseMessage: timing.error ?? '',
    });
  return accumulator.summary();
}

export interface StreamEvent {
  /** Content text of the chunk ('' for a chunk without content, such as the role or usage). */
  readonly content: string;
  readonly completionTokens: number | undefined;
  readonly done: boolean;
  readonly error: string | undefined;
}

/**
 * Splits server-sent events out of `buffer`: the complete `data:` events, and what is left for the
 * next read. Each event's data is an OpenAI chat completion chunk, or [DONE].
 */
export function takeEvents(buffer: string): { events: StreamEvent[]; rest: string } {
  const events: StreamEvent[] = [];
  const blocks = buffer.replace(/\r\n/g, '\n').split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    const data = block
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trimStart())
      .join('\n');
    if (data === '') continue;
    if (data === '[DONE]') {
      events.push({ content: '', completionTokens: undefined, done: true, error: undefined });
      continue;
    }
    events.push(chunkEvent(data));
  }
  return { events, rest };
}

function chunkEvent(data: string): StreamEvent {
  try {
    const chunk = JSON.parse(data) as {
      choices?: { delta?: { content?: string | null } }[];
      usage?: { completion_tokens?: number } | null;
      error?: { message?: string } | string;
    };
    if (chunk.error !== undefined)
      return {
        content: '',
        completionTokens: undefined,
        done: false,
        error: typeof chunk.error === 'string' ? chunk.error : (chunk.error.message ?? 'error'),
      };
    const content = (chunk.choices ?? []).map((choice) => choice.delta?.content ?? '').join('');
    return { content, completionTokens: chunk.usage?.completion_tokens, done: false, error: undefined };
  } catch {
    return {
      content: '',
      completionTokens: undefined,
      done: false,
      error: `not a JSON chunk: ${data.slice(0, 80)}`,
    };
  }
}

function sorted(values: number[]): Float64Array {
  return Float64Array.from(values).sort();
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
