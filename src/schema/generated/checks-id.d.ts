/** A digest of the JSON Schema and src/schema: what decides whether a stack file is valid. */
export declare const CHECKS_ID: string;
