import type { Rule } from './context.js';
import { checkBackup, checkLiveStoreKinds } from './backup.js';
import { checkConfigFiles } from './config-files.js';
import { checkCredentials } from './credentials.js';
import { checkCycles } from './cycles.js';
import { checkContainerPorts, checkEnvironments, checkGpuProfiles } from './environments.js';
import { checkHardening } from './hardening.js';
import { checkLoadTests, checkTestReports } from './load-tests.js';
import { checkNetworks } from './networks.js';
import { checkReferences } from './references.js';
import { checkSecretFiles } from './secret-files.js';
import { checkVariables } from './variables.js';
import { checkVerify } from './verify.js';

export type { Rule, RuleContext } from './context.js';

/** The semantic checks, run in this order after the JSON Schema shape check passes. */
export const RULES: readonly Rule[] = [
  checkReferences,
  checkCycles,
  checkNetworks,
  checkVariables,
  checkCredentials,
  checkContainerPorts,
  checkEnvironments,
  checkGpuProfiles,
  checkHardening,
  checkConfigFiles,
  checkBackup,
  checkLiveStoreKinds,
  checkSecretFiles,
  checkVerify,
  checkLoadTests,
  checkTestReports,
];
