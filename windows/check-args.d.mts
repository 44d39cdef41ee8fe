/** See check-args.mjs. */
export declare const ARG_CASES: readonly string[];
export declare const ARG_ENV: Readonly<Record<string, string>>;
