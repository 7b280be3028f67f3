import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SHIPPED_SCHEMA = fileURLToPath(new URL('../../schemas/compose-schema.yaml', import.meta.url));
export const SCHEMA_FIXTURES = fileURLToPath(new URL('../fixtures/schemas/', import.meta.url));
export const SHARED_FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));
