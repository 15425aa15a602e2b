export const MAX_FUNCTION_LINES: number;
export interface ShapeFindings {
  cycles: string[][];
  /** Cycles through a file in KNOWN_CYCLES: reported, not failing. */
  knownCycles: string[][];
  /** `file:line` of process.env in shared/ or functions/ outside shared/config/ and shared/bridge.ts. */
  envReads: string[];
  /** `file:line` of a timer-driven promise (or node:timers/promises) in a test outside test/support. */
  fixedSleeps: string[];
  longFunctions: string[];
  undeclared: string[];
  moduleState: string[];
}
export function checkShape(root: string): ShapeFindings;
export function packageOf(spec: string): string | undefined;
