// Types for the generated module (scripts/generate-sources.mjs writes the .js).
export declare const DEFAULT_TEMPLATES: Readonly<Record<string, string>>;
