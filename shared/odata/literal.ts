// OData string literal, for Graph, Dataverse and Table filters alike: single-quoted, embedded quotes
// doubled (OData ABNF SQUOTE-in-string), so o'brien, or an injection attempt, cannot change a query.
export function escapeODataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
