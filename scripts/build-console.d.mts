export const CONSOLE_DIST: string;
export function buildConsole(outDir?: string): Promise<string>;
