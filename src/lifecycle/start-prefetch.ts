// The first step of a start, taken before the rest of stackctl loads: compose's configuration asked
// for with the arguments the last start recorded (see effects/config-prefetch.ts). Only the
// prefetch is loaded here: the start command imports this module (alone) ahead of everything else.
export { prefetchComposeConfig as prefetchStartConfig } from '../effects/config-prefetch.js';
