// The JSON Schema validator is generated at build time; make sure it exists and is current before
// any test imports it, so `npx vitest` works on a fresh clone too.
import { generateShapeValidator } from '../scripts/gen-shape-validator.mjs';

export async function setup(): Promise<void> {
  await generateShapeValidator();
}
