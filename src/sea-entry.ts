// Entry of the single executable (Node SEA runs a CommonJS script: no top-level await here).
import { main } from './main.js';

void main();
