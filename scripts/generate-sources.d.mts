export declare const AJV_OPTIONS: Record<string, unknown>;
export declare function generateShapeValidator(): Promise<boolean>;
export declare function generateAll(): Promise<void>;
