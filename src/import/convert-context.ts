// What every section of the conversion shares: the original project, its parsed schema, the
// report every liberty taken is written to, and the small readers of the original's loose YAML.
import type { DataKind, VariableDef } from '../schema/types.js';
import type { ReportEntry, ReportSeverity } from './report.js';
import type { SecretStore } from '../generate/secrets.js';
import type { StackFile } from '../schema/types.js';
import type { ServiceEnvFile } from './service-env.js';

export interface SourceFile {
  /** As shown in the report: relative to the original project. */
  readonly path: string;
  readonly data: unknown;
  /** 1-based line of a YAML path (keys), for the report; undefined when unknown. */
  readonly lineOf: (path: readonly (string | number)[]) => number | undefined;
}

export interface OriginalProject {
  readonly schema: SourceFile;
  readonly environmentSchema?: SourceFile;
  /** secrets/.env.<env>.json (a flat NAME: value object), or values read from .env.<env>. */
  readonly secrets: ReadonlyMap<
    string,
    { readonly file: string; readonly values: Readonly<Record<string, string>>; readonly created?: string }
  >;
  /** `.env.d/*.env`: the per-service copies setup_secrets.py renders. */
  readonly serviceEnvFiles?: readonly ServiceEnvFile[];
}

export interface Conversion {
  readonly file: StackFile;
  readonly stores: ReadonlyMap<string, SecretStore>;
  /** Every named volume of the imported schema. */
  readonly volumes: readonly string[];
  /** User-name variables whose original value was a well-known one (postgres, admin): name → value. */
  readonly originalUsers: ReadonlyMap<string, string>;
  readonly report: readonly ReportEntry[];
}

export type Json = Record<string, unknown>;
export const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
export const text = (value: unknown): string =>
  typeof value === 'string'
    ? value
    : typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : '';

/** The conversion as it goes: the original, its schema's top level, and the report. */
export interface ConversionContext {
  readonly original: OriginalProject;
  readonly schemaFile: SourceFile;
  /** The original schema's top level (empty when it is not a mapping). */
  readonly doc: Json;
  /** Its config section. */
  readonly config: Json;
  readonly projectName: string;
  readonly report: ReportEntry[];
  readonly say: (
    severity: ReportSeverity,
    source: SourceFile,
    path: (string | number)[],
    message: string,
    action: string,
  ) => void;
}

/** Names the original used for secrets (its stores and .env files hold them). */
export const SECRET_NAME = /(PASSWORD|SECRET|_KEY$|TOKEN|SALT)/;
export const USER_KEY = /(USER|USERNAME|LOGIN)$/;
export const WELL_KNOWN_USERS = new Set([
  'admin',
  'administrator',
  'postgres',
  'root',
  'minioadmin',
  'minio',
  'user',
  'guest',
  'default',
  'test',
]);

/** A name the stackctl schema accepts for stacks and environments: lower-case DNS label. */
export function dnsName(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return cleaned === '' ? 'default' : cleaned.slice(0, 40);
}

/** KEY=value list or mapping as a mapping; values keep their ${VAR} references. */
export function environmentMap(value: unknown): Record<string, string> {
  if (Array.isArray(value)) {
    const out: Record<string, string> = {};
    for (const entry of value) {
      const line = text(entry);
      const at = line.indexOf('=');
      if (at > 0) out[line.slice(0, at)] = line.slice(at + 1);
    }
    return out;
  }
  if (isObject(value))
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, text(item)]));
  return {};
}

export function guessDataKind(volume: string): { kind: DataKind; sure: boolean } {
  if (/cache/.test(volume))
    return { kind: /model|vllm|hf|hugging/.test(volume) ? 'models' : 'cache', sure: true };
  if (/model/.test(volume)) return { kind: 'models', sure: true };
  if (/log/.test(volume)) return { kind: 'logs', sure: true };
  if (/allure|jmeter|result|report/.test(volume)) return { kind: 'test-results', sure: false };
  if (/postgres|mysql|redis|qdrant|minio|elastic|mongo|db/.test(volume)) return { kind: 'db', sure: false };
  return { kind: 'app', sure: false };
}

export function guessSecretType(name: string): string {
  if (/POSTGRES|DB_|DATABASE/.test(name) && /PASSWORD/.test(name)) return 'database_password';
  if (/MINIO|STORAGE|S3/.test(name)) return 'storage_password';
  if (/JWT/.test(name)) return 'jwt_secret';
  if (/WEBUI/.test(name)) return 'webui_secret';
  if (/ENCRYPTION/.test(name)) return 'encryption_key';
  if (/PASSWORD/.test(name)) return 'service_password';
  return 'api_key';
}

export const SECRET_LENGTHS: Record<string, number> = {
  database_password: 32,
  storage_password: 32,
  api_key: 64,
  jwt_secret: 64,
  webui_secret: 32,
  service_password: 32,
  encryption_key: 32,
};

export function typedDefault(def: VariableDef, value: string): string | number | boolean {
  if (def.type === 'integer' && /^-?\d+$/.test(value)) return Number(value);
  if (def.type === 'float' && value !== '' && Number.isFinite(Number(value))) return Number(value);
  if (def.type === 'boolean' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  if (def.type === 'integer' || def.type === 'float' || def.type === 'boolean') def.type = 'string';
  return value;
}

export const isScalar = (value: unknown): value is string | number | boolean =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
