import packageJson from '../package.json' with { type: 'json' };

export const STACKCTL_VERSION: string = packageJson.version;

/** The stack file format this build reads (the `version:` key of compose-schema.yaml). */
export const SCHEMA_FORMAT_VERSION = 1;
