// The JSON Schema validator is generated at build time; make sure it exists and is current before
// any test imports it, so `npx vitest` works on a fresh clone too.
import { generateAll } from '../scripts/generate-sources.mjs';

export async function setup(): Promise<void> {
  await generateAll();
}
