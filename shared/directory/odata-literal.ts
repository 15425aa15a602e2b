// OData string literal: single-quoted, with embedded quotes doubled (o'brien → 'o''brien').
export function escapeODataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
