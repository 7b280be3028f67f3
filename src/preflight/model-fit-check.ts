// Judges what models fit found for the environment's vLLM service: a model that will not start is
// a failed check with the variable (or flag) to change, found before anything is downloaded.
import type { FitFix, FitResult } from '../plan/model-fit.js';
import type { Check } from './check.js';

export type VllmFitFact =
  | {
      readonly service: string;
      readonly model: string;
      readonly result: FitResult;
      /** Flag -> the schema variable that feeds it. */
      readonly flagVariables: Readonly<Record<string, string>>;
    }
  | { readonly service: string; readonly model: string; readonly unreadable: string };

export function vllmFitCheck(fact: VllmFitFact, envName: string): Check {
  const id = `model-fit.${fact.service}`;
  if ('unreadable' in fact)
    return {
      id,
      status: 'warn',
      message: `${fact.service}: whether ${fact.model} fits the GPUs was not checked: ${fact.unreadable}`,
      fix: `stackctl models fit --env ${envName} (or name the downloaded folder: stackctl models fit ./models/NAME --env ${envName})`,
    };
  const { result } = fact;
  const tightest = result.perGpu;
  if (result.verdict === 'fits')
    return {
      id,
      status: 'pass',
      message: `${fact.service}: ${fact.model} fits: ${tightest.kvCacheGiB.toFixed(2)} GiB of KV cache per GPU, ${result.kvTokens} tokens, ${result.maxConcurrency}x at max-model-len ${result.maxModelLen}`,
      fix: '',
    };
  const fix = result.alternatives[0];
  const change = fix ? fixText(fix, fact.flagVariables) : 'a smaller or quantized model, or more GPUs';
  return {
    id,
    status: result.verdict === 'will-not-start' ? 'fail' : 'warn',
    message: `${fact.service}: ${fact.model} ${result.verdict === 'will-not-start' ? 'will not start' : 'fits only with a change'}: ${result.reasons.join('; ')}`,
    fix: `${change}${result.alternatives.length > 1 ? ` (other ways: stackctl models fit --env ${envName})` : ''}`,
  };
}

function fixText(fix: FitFix, flagVariables: Readonly<Record<string, string>>): string {
  return Object.entries(fix)
    .map(([flag, value]) => {
      const variable = flagVariables[flag];
      if (variable) return `set ${variable}: ${String(value)} in the environment's variables`;
      return value === true
        ? `add --${flag} to the service's command`
        : `add --${flag} ${String(value)} to the service's command`;
    })
    .join(', and ');
}
