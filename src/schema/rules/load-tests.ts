import { findVariableReferences } from '../interpolate.js';
import type { LoadTargetDef } from '../types.js';
import type { Rule } from './context.js';

/**
 * loadTests names an environment and its JMeter service, plans that target services of the
 * schema, and secrets that are secret variables; a property value never carries a secret (it is
 * written where JMeter and its logs can show it), only `secrets:` does.
 */
export const checkLoadTests: Rule = ({ file, report }) => {
  const tests = file.loadTests;
  if (!tests) return;
  const environment = file.environments[tests.environment];
  if (!environment)
    report({
      path: ['loadTests', 'environment'],
      message: `loadTests runs JMeter in "${tests.environment}", which is not an environment`,
      hint: `environments: ${Object.keys(file.environments).join(', ')}`,
    });
  else if (!environment.services.includes(tests.service))
    report({
      path: ['loadTests', 'service'],
      message: `the environment "${tests.environment}" does not run the JMeter service "${tests.service}"`,
      hint: `add it to environments.${tests.environment}.services, or name one of: ${environment.services.join(', ')}`,
    });
  if (tests.defaultPlan !== undefined && !Object.hasOwn(tests.plans, tests.defaultPlan))
    report({
      path: ['loadTests', 'defaultPlan'],
      message: `the default plan "${tests.defaultPlan}" is not one of loadTests.plans`,
      hint: `plans: ${Object.keys(tests.plans).join(', ')}`,
    });
  const checkTarget = (target: LoadTargetDef, path: (string | number)[]): void => {
    for (const key of ['service', 'via'] as const) {
      const name = target[key];
      if (name !== undefined && !Object.hasOwn(file.services, name))
        report({
          path: [...path, key],
          message: `a load test targets "${name}", which is not a service`,
          hint: 'name a service of the schema',
        });
    }
  };
  const isSecret = (name: string): boolean => file.variables[name]?.type === 'secret';
  for (const [name, plan] of Object.entries(tests.plans)) {
    checkTarget(plan.target, ['loadTests', 'plans', name, 'target']);
    for (const [property, variable] of Object.entries(plan.secrets ?? {}))
      if (!isSecret(variable))
        report({
          path: ['loadTests', 'plans', name, 'secrets', property],
          message: `the plan "${name}" passes ${variable} as a secret, but it is not a secret variable`,
          hint: 'name a variable of type secret, or pass a plain value under properties',
        });
    for (const [property, value] of Object.entries(plan.properties ?? {}))
      for (const reference of findVariableReferences(String(value)))
        if (isSecret(reference.name))
          report({
            path: ['loadTests', 'plans', name, 'properties', property],
            message: `the plan "${name}" puts the secret ${reference.name} in a property`,
            hint: `pass it under secrets: { ${property}: ${reference.name} } (it then travels on JMeter's standard input)`,
          });
  }
  if (tests.llm) {
    checkTarget(tests.llm.target, ['loadTests', 'llm', 'target']);
    if (tests.llm.key !== undefined && !isSecret(tests.llm.key))
      report({
        path: ['loadTests', 'llm', 'key'],
        message: `loadTests.llm sends ${tests.llm.key} as its key, but it is not a secret variable`,
        hint: 'name a variable of type secret (LITELLM_MASTER_KEY)',
      });
  }
};

/** testReports names an environment that runs both the results service and the report service. */
export const checkTestReports: Rule = ({ file, report }) => {
  const reports = file.testReports;
  if (!reports) return;
  const environment = file.environments[reports.environment];
  if (!environment) {
    report({
      path: ['testReports', 'environment'],
      message: `testReports keeps results in "${reports.environment}", which is not an environment`,
      hint: `environments: ${Object.keys(file.environments).join(', ')}`,
    });
    return;
  }
  for (const [path, service] of [
    [['testReports', 'service'], reports.service],
    [['testReports', 'report', 'service'], reports.report.service],
  ] as const)
    if (!environment.services.includes(service))
      report({
        path: [...path],
        message: `the environment "${reports.environment}" does not run "${service}" (testReports)`,
        hint: `add it to environments.${reports.environment}.services, or name one of: ${environment.services.join(', ')}`,
      });
};
