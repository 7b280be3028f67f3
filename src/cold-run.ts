// bin/stackctl keeps V8's code cache of each command (see its top): the code a run compiled, saved
// for the next run of the same command. A run that did first-time work (a schema validated rather
// than read back from the cache) compiled mostly that work, which the next runs will not repeat; it
// says so here, and the launcher keeps its cache apart, replaced by the first ordinary run's.
let cold = false;

/** This run did work the next run of the same command will not repeat. */
export function markColdRun(): void {
  cold = true;
}

export function isColdRun(): boolean {
  return cold;
}
