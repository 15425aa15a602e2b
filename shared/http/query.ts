// Query-string parameters, validated like bodies: a bad value answers 400 naming the parameter.
import type { HttpRequest } from "@azure/functions";
import type { z } from "zod";
import { AppError } from "../errors/app-error.js";
import { describeIssues } from "./json-body.js";
import { acceptedQueryParameters } from "../openapi/document.js";

/** The request's query parameters its route does not take (none for a route outside the document). */
export function unknownQueryParameters(request: Pick<HttpRequest, "method" | "url">): string[] {
  // No query string, nothing to refuse: the usual request (every token request) parses no URL here.
  if (!request.url.includes("?")) return [];
  const url = new URL(request.url);
  const accepted = acceptedQueryParameters(request.method, url.pathname);
  if (!accepted) return [];
  return [...new Set(url.searchParams.keys())].filter((name) => !accepted.has(name));
}

/** `unknown query parameter "dryRun"`: the refusal's text, naming them (capped). */
export function unknownQueryText(unknown: readonly string[]): string {
  return `unknown query parameter${unknown.length > 1 ? "s" : ""} ${unknown.slice(0, 10).map((name) => `"${name.slice(0, 100)}"`).join(", ")}`;
}

/** Refuses a query parameter the route does not take: 400 naming them (a misspelt option is never ignored). */
export function refuseUnknownQuery(request: Pick<HttpRequest, "method" | "url">): void {
  const unknown = unknownQueryParameters(request);
  if (unknown.length > 0) throw new AppError(`The request has an ${unknownQueryText(unknown)}: this route does not take it.`, 400, "unknown_query_parameter");
}

export function parseQuery<T extends z.ZodType>(schema: T, request: HttpRequest): z.output<T> {
  const result = schema.safeParse(Object.fromEntries(request.query.entries()));
  if (!result.success) throw new AppError(`Invalid query: ${describeIssues(result.error.issues)}.`, 400, "invalid_query");
  return result.data;
}

/**
 * An absolute link to `pathAndQuery` on the app's public origin (PUBLIC_BASE_URL). Never built from the request's
 * URL: its host comes from the Host header, which the sender chooses.
 */
export function publicLink(publicBaseUrl: string, pathAndQuery: string): string {
  return new URL(pathAndQuery, `${publicBaseUrl}/`).href;
}

/** The request's path with these query parameters set, on the public origin (links to the next page). */
export function withQuery(publicBaseUrl: string, request: HttpRequest, params: Record<string, string | number>): string {
  const requested = new URL(request.url);
  const url = new URL(publicLink(publicBaseUrl, requested.pathname + requested.search));
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, String(value));
  return url.href;
}
