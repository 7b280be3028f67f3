// Entry of both bundles: dist/stackctl.cjs (bin/stackctl) and the single executable. Both are
// CommonJS, so no top-level await here.
import { main } from './main.js';

void main();
