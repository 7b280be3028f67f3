import nunjucks from 'nunjucks';
import { checkTemplate } from './template-guard.js';
import { StackctlError } from '../errors.js';
import type { EnvironmentModel } from '../model/environment.js';
import type { StackFile } from '../schema/types.js';
import { commentText, dotenvLine, dotenvValue } from './dotenv.js';
import type { SecretStore } from './secrets.js';

/** Template sources by file name (env-templates/*.env.j2); master.env.j2 is the entry point. */
export type TemplateSources = ReadonlyMap<string, string>;

export const MASTER_TEMPLATE = 'master.env.j2';

/** How every master template starts: the generated-file header, the environment, its compose project. */
export const MASTER_PRELUDE: readonly string[] = [
  '{{ header }}',
  '# Environment: {{ environment.name }} ({{ environment.description }})',
  '# Compose project: {{ environment.project }}. Holds secret values: keep this file 0600 and out of git.',
  '',
  'COMPOSE_PROJECT_NAME={{ environment.project | dotenv }}',
  'COMPOSE_PROFILES={{ environment.name | dotenv }}',
  '',
];

/** The layout used when a project has no env-templates/: every variable, in schema order. */
export const BUILT_IN_TEMPLATES: TemplateSources = new Map([
  [MASTER_TEMPLATE, [...MASTER_PRELUDE, '{{ remaining() }}', ''].join('\n')],
]);

class MemoryLoader extends nunjucks.Loader {
  constructor(private readonly sources: TemplateSources) {
    super();
  }
  getSource(name: string): nunjucks.LoaderSource {
    const src = this.sources.get(name);
    if (src === undefined) {
      throw new StackctlError('E_USAGE', `env template "${name}" does not exist`, {
        hint: `add env-templates/${name}, or remove the include that names it`,
      });
    }
    return { src, path: name, noCache: false };
  }
}

// Checked and compiled once per set of sources: generate renders every environment from the same set.
const environments = new WeakMap<TemplateSources, nunjucks.Environment>();

function templateEnvironment(templates: TemplateSources): nunjucks.Environment {
  const known = environments.get(templates);
  if (known) return known;
  for (const [name, source] of templates) checkTemplate(name, source);
  const env = new nunjucks.Environment(new MemoryLoader(templates), {
    autoescape: false,
    throwOnUndefined: true,
    trimBlocks: true,
    lstripBlocks: true,
  });
  env.addFilter('dotenv', (value: unknown) => dotenvValue(String(value)));
  env.addFilter('comment', (value: unknown) => commentText(String(value)));
  environments.set(templates, env);
  return env;
}

export interface EnvFileInput {
  readonly file: StackFile;
  readonly model: EnvironmentModel;
  readonly secrets: SecretStore;
  readonly header: readonly string[];
  readonly templates: TemplateSources;
}

/** Renders .env.<environment> from the templates; every declared variable appears exactly once. */
export function renderEnvFile({ file, model, secrets, header, templates }: EnvFileInput): string {
  const emitted = new Set<string>();
  const valueOf = (name: string): string => {
    const def = file.variables[name];
    if (def?.type === 'secret') return secrets.secrets[name]?.value ?? '';
    return model.values.get(name) ?? '';
  };
  const block = (name: string): string => {
    const def = file.variables[name];
    if (!def) {
      throw new StackctlError('E_USAGE', `env template names unknown variable "${name}"`, {
        hint: 'declare it under variables in the schema, or remove it from the template',
      });
    }
    if (emitted.has(name)) {
      throw new StackctlError('E_USAGE', `env templates write variable "${name}" twice`, {
        hint: 'keep one variable("…") call per variable across env-templates/',
      });
    }
    emitted.add(name);
    const secret = def.type === 'secret' ? ` (secret: ${def.secretType ?? ''})` : '';
    return `# ${commentText(`${def.description}${secret}`)}\n${dotenvLine(name, valueOf(name))}`;
  };

  const env = templateEnvironment(templates);
  const context = {
    header: header.join('\n'),
    // Only comment-safe text reaches the templates: a template writes these after `#`.
    environment: {
      name: model.name,
      description: commentText(model.definition.description),
      project: model.project,
    },
    variable: (name: string) => new nunjucks.runtime.SafeString(block(name)),
    remaining: () =>
      new nunjucks.runtime.SafeString(
        Object.keys(file.variables)
          .filter((name) => !emitted.has(name))
          .map(block)
          .join('\n'),
      ),
  };
  let text: string;
  try {
    text = env.render(MASTER_TEMPLATE, context);
  } catch (error) {
    if (error instanceof StackctlError) throw error;
    const cause = error instanceof StackctlError ? error : (error as Error & { cause?: unknown }).cause;
    if (cause instanceof StackctlError) throw cause;
    throw new StackctlError('E_USAGE', `env template error: ${firstLine((error as Error).message)}`, {
      hint: 'fix the template in env-templates/ (nunjucks syntax)',
      cause: error,
    });
  }
  return `${text.replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

function firstLine(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' ');
}
