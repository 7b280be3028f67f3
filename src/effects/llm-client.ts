// A small streaming client for OpenAI-compatible chat completions (LiteLLM, vLLM): one request,
// each read of its answer kept with when it arrived (ms since the request was sent); what the
// reads mean is plan/llm-bench.ts's. The key goes in the Authorization header of the request only.

export interface ChatRequest {
  readonly url: string;
  readonly key: string | undefined;
  readonly model: string;
  readonly prompt: string;
  readonly maxTokens: number;
  readonly timeoutMs: number;
}

/** One request as it went: its status, the body's reads with their arrival times, or why it failed. */
export interface RawStream {
  readonly startedAt: number;
  readonly status: number;
  readonly reads: readonly { readonly atMs: number; readonly text: string }[];
  readonly totalMs: number;
  /** Why the request failed before or while its answer streamed; undefined when it did not. */
  readonly error: string | undefined;
}

export async function streamChat(request: ChatRequest, signal: AbortSignal): Promise<RawStream> {
  const startedAt = Date.now();
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  const timeout = AbortSignal.timeout(request.timeoutMs);
  const reads: { atMs: number; text: string }[] = [];
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        ...(request.key === undefined ? {} : { authorization: `Bearer ${request.key}` }),
      },
      body: JSON.stringify({
        model: request.model,
        messages: [{ role: 'user', content: request.prompt }],
        max_tokens: request.maxTokens,
        stream: true,
        stream_options: { include_usage: true },
      }),
      signal: AbortSignal.any([signal, timeout]),
    });
  } catch (error) {
    signal.throwIfAborted();
    return { startedAt, status: 0, reads, totalMs: elapsed(), error: causeOf(error) };
  }
  if (!response.ok || !response.body) {
    const text = await response.text().catch(() => '');
    const error = `HTTP ${String(response.status)} ${text.replace(/\s+/g, ' ').slice(0, 120)}`.trim();
    return { startedAt, status: response.status, reads, totalMs: elapsed(), error };
  }
  const decoder = new TextDecoder();
  try {
    for await (const bytes of response.body)
      reads.push({ atMs: elapsed(), text: decoder.decode(bytes as Uint8Array, { stream: true }) });
  } catch (cause) {
    signal.throwIfAborted();
    return { startedAt, status: response.status, reads, totalMs: elapsed(), error: causeOf(cause) };
  }
  return { startedAt, status: response.status, reads, totalMs: elapsed(), error: undefined };
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code !== undefined) return cause.code;
  if (cause?.message !== undefined) return cause.message;
  if ((error as Error).name === 'TimeoutError') return 'timed out';
  return (error as Error).message;
}
