// What a load test sends where, decided before anything runs: the target (a service of the
// environment under test, through its router when that runs), the JMeter properties a plan reads,
// the routes the health plan walks, and the run's identity. Pure.
import { StackctlError } from '../errors.js';
import type { EnvironmentModel, ResolvedService } from '../model/environment.js';
import { interpolate } from '../schema/interpolate.js';
import type { LoadTargetDef, LoadTestsDef } from '../schema/types.js';
import { containerSide } from '../schema/values.js';
import type { BenchSummary } from './bench-summary.js';
import type { LlmSummary } from './llm-bench.js';

/** Where requests go, as seen from a container on the environment's network. */
export interface BenchTarget {
  readonly scheme: 'http' | 'https';
  readonly host: string;
  readonly port: number;
  /** A path prefix every request starts with ('' or /llm). */
  readonly base: string;
  /** The service whose network JMeter joins (the host when it is a service; undefined for a URL). */
  readonly service: string | undefined;
  /** What the report names as the target: nginx -> litellm (/llm), or the URL. */
  readonly label: string;
}

/** The service definition's route health path under its prefix. */
export function healthPath(service: ResolvedService): string {
  return service.definition.route?.health ?? '/health';
}

/**
 * The target of a plan (or of --target): a URL as given; a service name directly; the plan's
 * target through its `via` service when the environment runs it, at the target's route prefix.
 */
export function resolveLoadTarget(
  def: LoadTargetDef | undefined,
  model: EnvironmentModel,
  override: string | undefined,
): BenchTarget {
  if (override !== undefined) {
    if (/^https?:\/\//.test(override)) return urlTarget(override);
    return directTarget(serviceIn(model, override, '--target'), undefined);
  }
  if (!def)
    throw new StackctlError('E_USAGE', 'this plan names no target', {
      hint: 'give --target SERVICE or --target URL',
    });
  const service = serviceIn(model, def.service, 'the plan');
  const via = def.via === undefined ? undefined : model.services.find((s) => s.name === def.via);
  if (via && via.name !== service.name) {
    const route = service.definition.route;
    if (!route)
      throw new StackctlError('E_SCHEMA', `${service.name} has no route through ${via.name}`, {
        hint: `add route: { path: /${service.name}/, port: ... } to the service, or drop via`,
      });
    const port = listeningPort(via, undefined);
    const base = route.path.replace(/\/$/, '');
    return {
      scheme: 'http',
      host: via.name,
      port,
      base,
      service: via.name,
      label: `${via.name} -> ${service.name} (${route.path})`,
    };
  }
  return directTarget(service, def.port);
}

function directTarget(service: ResolvedService, port: number | undefined): BenchTarget {
  const resolved = listeningPort(service, port);
  return {
    scheme: 'http',
    host: service.name,
    port: resolved,
    base: '',
    service: service.name,
    label: `${service.name}:${String(resolved)}`,
  };
}

function urlTarget(text: string): BenchTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new StackctlError('E_USAGE', `--target ${text} is not a URL`, {
      hint: 'give http://host:port/path, or a service name',
    });
  }
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  return {
    scheme,
    host: url.hostname,
    port: url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port),
    base: url.pathname.replace(/\/$/, ''),
    service: undefined,
    label: text,
  };
}

function serviceIn(model: EnvironmentModel, name: string, who: string): ResolvedService {
  const service = model.services.find((s) => s.name === name);
  if (!service)
    throw new StackctlError('E_USAGE', `${who} targets ${name}, which ${model.name} does not run`, {
      hint: `its services: ${model.services.map((s) => s.name).join(', ')}`,
    });
  return service;
}

/** The port the generated nginx.conf listens on. */
const ROUTER_PORT = 80;

/**
 * The container port a service answers on: given, its route's, its first port entry's, else the
 * generated nginx.conf's when it is the router.
 */
function listeningPort(service: ResolvedService, given: number | undefined): number {
  if (given !== undefined) return given;
  if (service.definition.route) return service.definition.route.port;
  const first = service.definition.ports?.[0];
  if (first === undefined && service.definition.configFiles?.some((file) => file.generate === 'nginx'))
    return ROUTER_PORT;
  const port = first === undefined ? Number.NaN : Number(containerSide(first).split('/')[0]);
  if (!Number.isInteger(port))
    throw new StackctlError('E_SCHEMA', `cannot tell which port ${service.name} answers on`, {
      hint: 'give the target a port (loadTests ... target: { service, port }), or --target URL',
    });
  return port;
}

/** The health plan's rows: every routed service's health path through the router, then the router's own. */
export function routeRows(model: EnvironmentModel): [label: string, path: string][] {
  const rows: [string, string][] = model.services
    .filter((service) => service.definition.route !== undefined)
    .map((service) => [
      service.name,
      `${(service.definition.route?.path ?? '/').replace(/\/$/, '')}${healthPath(service)}`,
    ]);
  return rows;
}

export interface BenchLoad {
  readonly users: number;
  readonly durationSeconds: number;
  readonly rampSeconds: number;
}

/**
 * The properties file JMeter gets with -q: where requests go, the load, the plan's own properties
 * (with the environment's variables), the secrets, and how the results file is written (CSV with
 * the columns the summary reads, whatever the JMeter version's defaults).
 */
export function jmeterProperties(
  target: BenchTarget,
  load: BenchLoad,
  planProperties: Readonly<Record<string, string | number | boolean>>,
  secrets: ReadonlyMap<string, string>,
  values: ReadonlyMap<string, string>,
  routesFile: string,
): string {
  const entries: [string, string][] = [
    ['target.scheme', target.scheme],
    ['target.host', target.host],
    ['target.port', String(target.port)],
    ['target.base', target.base],
    ['users', String(load.users)],
    ['duration', String(load.durationSeconds)],
    ['ramp', String(load.rampSeconds)],
    ['routes.file', routesFile],
    ...Object.entries(planProperties).map(
      ([name, value]) => [name, interpolate(String(value), values).value] as [string, string],
    ),
    ...secrets,
    ['summariser.interval', '5'],
    ['jmeter.save.saveservice.output_format', 'csv'],
    ['jmeter.save.saveservice.print_field_names', 'true'],
    ['jmeter.save.saveservice.timestamp_format', 'ms'],
    ['jmeter.save.saveservice.default_delimiter', ','],
    ['jmeter.save.saveservice.label', 'true'],
    ['jmeter.save.saveservice.time', 'true'],
    ['jmeter.save.saveservice.successful', 'true'],
    ['jmeter.save.saveservice.response_code', 'true'],
    ['jmeter.save.saveservice.response_message', 'true'],
    ['jmeter.save.saveservice.assertion_results_failure_message', 'true'],
    ['jmeter.save.saveservice.latency', 'true'],
    ['jmeter.save.saveservice.bytes', 'true'],
  ];
  return `${entries.map(([name, value]) => `${escapeKey(name)}=${escapeValue(value)}`).join('\n')}\n`;
}

/** Java properties escaping: backslash, and the characters that end a key or start a comment. */
function escapeKey(key: string): string {
  return key.replace(/[\\:=\s#!]/g, (c) => `\\${c}`);
}

function escapeValue(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/^\s/, (c) => `\\${c}`)
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** CSV rows JMeter's CSV Data Set reads (no quoting: labels and paths never hold a comma). */
export function routesCsv(rows: readonly [string, string][]): string {
  return rows.map(([label, path]) => `${label.replace(/,/g, ' ')},${path}`).join('\n') + '\n';
}

/** A run's id: when it started (UTC, to the second) and the plan's name. */
export function benchRunId(now: Date, plan: string): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${plan.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** The plan a name or path stands for: one of the schema's, else a .jmx file. */
export function choosePlan(
  tests: LoadTestsDef,
  requested: string | undefined,
): { readonly name: string; readonly schemaPlan: string | undefined; readonly file: string } {
  const name = requested ?? tests.defaultPlan ?? Object.keys(tests.plans)[0] ?? '';
  const named = tests.plans[name];
  if (named) return { name, schemaPlan: name, file: named.file };
  if (!name.endsWith('.jmx'))
    throw new StackctlError('E_USAGE', `no load test plan "${name}"`, {
      hint: `plans: ${Object.keys(tests.plans).join(', ')}; or give a .jmx file`,
    });
  const base = name.split('/').pop() ?? name;
  return { name: base.replace(/\.jmx$/, ''), schemaPlan: undefined, file: name };
}

/** What a run leaves in .stackctl/bench/<env>/<id>.json: no secret, the summary for bench compare. */
export interface BenchRecord {
  readonly id: string;
  readonly environment: string;
  readonly plan: string;
  readonly target: string;
  readonly startedAt: string;
  readonly load: BenchLoad;
  /** The JMeter image ('' for bench --llm). */
  readonly image: string;
  /** Where JMeter's files are: the volume and the run's folder in it. */
  readonly results:
    { readonly volume: string; readonly folder: string; readonly dashboard: boolean } | undefined;
  readonly summary: BenchSummary;
  /** bench --llm: time to first token, inter-token latency, tokens per second. */
  readonly llm?: LlmSummary;
}
