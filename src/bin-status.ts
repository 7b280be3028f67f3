// Entry of dist/stackctl-status.cjs: `stackctl status` as the one command people run in a loop
// (watch stackctl status), without the rest of the program (a small part of its size, so a small
// part of what a run reads and compiles). bin/stackctl runs it for `status` and, when it cannot
// answer (the schema is not one this build knows, or a form the quick path does not take), loads
// the full bundle, which runs the command from the start: nothing has been printed then.
import { quickStatus } from './cli/fast-status.js';
import { exitWith, wireProcess } from './main.js';

export { isColdRun } from './cold-run.js';
export { replayableFiles } from './replay.js';

/** Answers the run and exits; false when the full program must run it instead. */
export async function runQuickStatus(): Promise<boolean> {
  const { io, args, release } = wireProcess();
  const code = await quickStatus(args, io);
  if (code === undefined) {
    release();
    return false;
  }
  exitWith(code);
  return true;
}
