import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SHIPPED_SCHEMA = fileURLToPath(new URL('../../schemas/compose-schema.yaml', import.meta.url));
export const SCHEMA_FIXTURES = fileURLToPath(new URL('../fixtures/schemas/', import.meta.url));
// Real tool outputs (nvidia-smi, docker), copied from ../shared/fixtures with their SOURCES.md.
export const HOST_FIXTURES = fileURLToPath(new URL('../fixtures/host/', import.meta.url));
