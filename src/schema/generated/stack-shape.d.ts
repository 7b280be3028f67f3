// Types for the generated standalone validator (scripts/generate-sources.mjs writes the .js).
import type { ErrorObject } from 'ajv';

interface StandaloneValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

declare const validate: StandaloneValidator;
export default validate;
