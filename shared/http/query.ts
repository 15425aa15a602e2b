// Query-string parameters, validated like bodies: a bad value answers 400 naming the parameter.
import type { HttpRequest } from "@azure/functions";
import type { z } from "zod";
import { AppError } from "../errors/app-error.js";
import { describeIssues } from "./json-body.js";

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
