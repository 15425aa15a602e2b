export declare const CLI_DIST: string;
/** Builds the CLI into `outDir` (default dist/cli/); resolves to the path of the executable. */
export declare function buildCli(outDir?: string): Promise<string>;
