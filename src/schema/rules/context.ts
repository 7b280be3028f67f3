import type { Finding } from '../issue.js';
import type { EnvironmentDef, StackFile } from '../types.js';

export interface RuleContext {
  readonly file: StackFile;
  /** The environments environment-specific checks look at (all, or the one given by --env). */
  readonly environments: readonly [string, EnvironmentDef][];
  readonly report: (finding: Finding) => void;
}

/** A semantic check over a shape-valid stack file; it reports findings and never throws on bad data. */
export type Rule = (ctx: RuleContext) => void;
