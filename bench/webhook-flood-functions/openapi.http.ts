export * from "../../functions/openapi.http.js";
