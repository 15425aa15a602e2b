// Public surface of the Dataverse adapter.
export * from "./types.js";
export { DataverseClient, type DataverseClientOptions } from "./client.js";
export { DataverseError, isDataverseError } from "./errors.js";
export type { DataverseRequestStats, GetToken, RetryPolicy, Sleep } from "./http.js";
export { eq, ne, and, or, stringLiteral, guidLiteral, literal, isGuid, ODataLiteralError } from "./odata.js";
