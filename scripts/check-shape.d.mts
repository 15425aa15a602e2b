export const MAX_FUNCTION_LINES: number;
export interface ShapeFindings {
  cycles: string[][];
  longFunctions: string[];
  undeclared: string[];
  moduleState: string[];
}
export function checkShape(root: string): ShapeFindings;
export function packageOf(spec: string): string | undefined;
