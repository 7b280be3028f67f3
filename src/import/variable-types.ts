// One type per plain variable that all the evidence fits (its default, each environment's value,
// the environment schema's declared type), settled the way compose reads values: as text.
import type { EnvironmentDef, VariableDef } from '../schema/types.js';
import type { SourceFile } from './convert-context.js';
import type { ReportEntry } from './report.js';

type ScalarType = 'boolean' | 'integer' | 'float' | 'string';

/** Whether a value, read as compose reads it (as text), is one of a type. */
function fits(type: ScalarType, value: string | number | boolean): boolean {
  const written = String(value);
  if (type === 'boolean') return /^(true|false)$/i.test(written);
  if (type === 'integer') return /^-?\d+$/.test(written);
  if (type === 'float') return written.trim() !== '' && Number.isFinite(Number(written));
  return true;
}

/** The narrowest type every value fits. */
function narrowestType(values: readonly (string | number | boolean)[]): ScalarType {
  for (const type of ['boolean', 'integer', 'float'] as const)
    if (values.length > 0 && values.every((value) => fits(type, value))) return type;
  return 'string';
}

function coerce(type: ScalarType, value: string | number | boolean): string | number | boolean {
  const written = String(value);
  if (type === 'boolean') return written.toLowerCase() === 'true';
  if (type === 'integer' || type === 'float') return Number(written);
  return written;
}

/**
 * Gives every plain variable one type that all the evidence fits: its default, the value each
 * environment sets, and the type the environment schema declared. A variable only the services'
 * ${VAR:-default} references name takes the narrowest type of its values; a declared type is kept
 * while every value fits it, else widened. Values are then written in that type: a conflict is
 * settled the way compose reads the value (as its text), reported, never fatal.
 */
export function reconcileVariableTypes(
  variables: Record<string, VariableDef>,
  environments: Record<string, EnvironmentDef>,
  declaredTypes: ReadonlySet<string>,
  source: SourceFile,
): ReportEntry[] {
  const report: ReportEntry[] = [];
  for (const [name, def] of Object.entries(variables)) {
    if (def.type === 'secret') continue;
    const setBy = Object.entries(environments).filter(([, env]) => env.variables?.[name] !== undefined);
    const evidence = [
      ...(def.default !== undefined ? [def.default] : []),
      ...setBy.map(([, env]) => env.variables?.[name] as string | number | boolean),
    ];
    if (evidence.length === 0) continue;
    const declared = def.type;
    let type: ScalarType;
    if (declaredTypes.has(name) || def.minimum !== undefined || def.maximum !== undefined)
      type = evidence.every((value) => fits(declared, value)) ? declared : narrowestType(evidence);
    else type = narrowestType(evidence);
    const retyped = type !== declared;
    const valuesSet = [...new Set(setBy.map(([, env]) => JSON.stringify(env.variables?.[name])))].join(', ');
    const rewritten = setBy.filter(([, env]) => {
      const value = env.variables?.[name] as string | number | boolean;
      return typeof coerce(type, value) !== typeof value;
    });
    if (retyped) {
      def.type = type;
      if (type === 'string' || type === 'boolean') {
        delete def.minimum;
        delete def.maximum;
      }
    }
    if (def.default !== undefined) def.default = coerce(type, def.default);
    for (const [, env] of setBy)
      if (env.variables) env.variables[name] = coerce(type, env.variables[name] as string | number | boolean);
    if ((retyped && declaredTypes.has(name)) || rewritten.length > 0)
      report.push({
        severity: 'info',
        file: source.path,
        line: 1,
        message: `${name}: ${declaredTypes.has(name) ? `declared ${declared}` : `typed ${declared} from its default`}, while ${
          setBy.length > 0
            ? `${setBy.map(([env]) => env).join(', ')} set ${valuesSet}`
            : 'its default is another type'
        }`,
        action: `typed ${type}, the values written as compose reads them (as text: ${evidence
          .slice(0, 3)
          .map((value) => JSON.stringify(String(value)))
          .join(', ')})`,
      });
  }
  return report;
}
