// The webhook-flood benchmark's local host serves the token endpoint and the Graph webhook (see bench/webhook-flood.ts).
export * from "../../functions/token.http.js";
