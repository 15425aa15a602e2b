// The local host serves every file of a functions folder; this one holds only the token endpoint, so the
// token tests and the benchmark don't depend on (or start the queue workers of) the other functions.
export * from "../../../functions/token.http.js";
