// Entry of every bundle: dist/stackctl.cjs and dist/stackctl-help.cjs (bin/stackctl), and the single
// executable. All are CommonJS, so no top-level await here.
import { main } from './main.js';

void main();
