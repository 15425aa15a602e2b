// The benchmark's local host serves only the token endpoint (see bench/token.ts).
export * from "../../functions/token.http.js";
