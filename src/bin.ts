// Entry of dist/stackctl.cjs and dist/stackctl-help.cjs (bin/stackctl), and of the single executable;
// dist/stackctl-status.cjs has its own (bin-status.ts). All are CommonJS, so no top-level await here.
// bin/stackctl reads isColdRun and replayableFiles at exit.
import { main } from './main.js';

export { isColdRun } from './cold-run.js';
export { replayableFiles } from './replay.js';

void main();
