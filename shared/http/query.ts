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

/** The request's URL with these query parameters set (links to the next page). */
export function withQuery(request: HttpRequest, params: Record<string, string | number>): string {
  const url = new URL(request.url);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, String(value));
  return url.href;
}
