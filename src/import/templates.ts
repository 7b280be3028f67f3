// The original Jinja2 env templates (Ansible/OpenBao style: `NAME={{ vault_name | default('…') }}`,
// one file per service, included from master.env.j2) as stackctl env templates: the same sections
// and order, each schema variable placed once with {{ variable("NAME") }}. Pure.
import { MASTER_PRELUDE } from '../generate/env-file.js';
import type { ReportEntry } from './convert.js';

export interface TemplateSource {
  readonly name: string;
  readonly text: string;
}

const INCLUDE = /^\s*\{%-?\s*include\s+["']([^"']+)["']\s*-?%\}\s*$/;
const ASSIGNMENT = /^\s*([A-Z][A-Z0-9_]*)\s*=/;

const PRELUDE = [
  '{#- Imported from the original master.env.j2 by stackctl import: its sections and order, each',
  '    schema variable once; remaining() writes what no section placed. -#}',
  ...MASTER_PRELUDE,
];

export function convertTemplates(
  sources: readonly TemplateSource[],
  declared: ReadonlySet<string>,
): { files: { name: string; content: string }[]; report: ReportEntry[] } {
  const byName = new Map(sources.map((source) => [source.name, source.text]));
  const master = byName.get('master.env.j2');
  if (master === undefined) return { files: [], report: [] };
  const placed = new Set<string>();
  const files: { name: string; content: string }[] = [];
  const report: ReportEntry[] = [];
  const converting = new Set<string>();

  const convert = (name: string, text: string): string[] => {
    const out: string[] = [];
    const dropped: string[] = [];
    let repeated = 0;
    text.split('\n').forEach((line, index) => {
      const include = INCLUDE.exec(line)?.[1];
      if (include !== undefined) {
        const included = byName.get(include);
        if (included === undefined) {
          report.push({
            severity: 'warning',
            file: `env-templates/${name}`,
            line: index + 1,
            message: `includes ${include}, which is not there`,
            action: 'left out',
          });
          return;
        }
        if (!converting.has(include)) {
          converting.add(include);
          files.push({ name: include, content: `${convert(include, included).join('\n')}\n` });
        }
        out.push(`{% include "${include}" %}`);
        return;
      }
      const variable = ASSIGNMENT.exec(line)?.[1];
      if (variable !== undefined) {
        if (!declared.has(variable)) dropped.push(variable);
        else if (placed.has(variable)) repeated++;
        else {
          placed.add(variable);
          out.push(`{{ variable("${variable}") }}`);
        }
        return;
      }
      // Comments and blank lines stay; they are text to nunjucks once no tag is in them.
      if (/^\s*(#|$)/.test(line) && !/\{[{%#]/.test(line)) out.push(line);
      else if (line.trim() !== '')
        report.push({
          severity: 'info',
          file: `env-templates/${name}`,
          line: index + 1,
          message: 'a template line that sets no variable',
          action: 'left out',
        });
    });
    if (dropped.length > 0)
      report.push({
        severity: 'info',
        file: `env-templates/${name}`,
        line: 1,
        message: `${dropped.length} value(s) that are no schema variable (${dropped.slice(0, 6).join(', ')}${dropped.length > 6 ? ', …' : ''})`,
        action: 'left out of the env file: the services get them from the schema (or add them as variables)',
      });
    if (repeated > 0)
      report.push({
        severity: 'info',
        file: `env-templates/${name}`,
        line: 1,
        message: `${repeated} variable(s) another template already wrote`,
        action: 'written once, where first placed',
      });
    return out;
  };

  const body = convert('master.env.j2', master);
  files.unshift({
    name: 'master.env.j2',
    content: `${[...PRELUDE, ...body, '# ---------------------------------------------------------------- everything else', '{{ remaining() }}'].join('\n')}\n`,
  });
  return { files, report };
}
