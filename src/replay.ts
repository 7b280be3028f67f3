// bin/stackctl keeps what a validate run printed, and prints it back to the same run again (see its
// top): the same arguments, folder, terminal and colour settings, and the same files. A run whose
// output depends on nothing else says here which files those are, each with its signature when read
// (absent: null, for a folder searched on the way to the schema); a run that says nothing is not kept.

/** A file's identity and version: device, inode, size, and change and modification times in ns. */
export type FileSignature = string;

let files: readonly (readonly [string, FileSignature | null])[] | undefined;

/** This run's output is a function of its inputs and of these files as they were. */
export function markReplayable(dependencies: readonly (readonly [string, FileSignature | null])[]): void {
  files = dependencies;
}

/**
 * Whether the file last changed more than a second before `nowMs`. Timestamps advance in clock
 * ticks of a few milliseconds: a file written again within the tick it was read in keeps its times
 * (and, at the same size, its whole signature), so only a file older than any tick is kept by it.
 */
export function changedLongAgo(signature: FileSignature, nowMs: number): boolean {
  const changedNs = BigInt(signature.split(':')[3] ?? '0');
  return BigInt(Math.trunc(nowMs)) * 1_000_000n - changedNs > 1_000_000_000n;
}

export function replayableFiles(): readonly (readonly [string, FileSignature | null])[] | undefined {
  return files;
}
