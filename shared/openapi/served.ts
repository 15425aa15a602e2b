// GET /api/openapi.json served from one build (issue #19 item 2): the document is made once per bridge (it only
// depends on the code, PUBLIC_BASE_URL and the Entra sign-in settings), with a strong ETag, so a repeat is a string compare and If-None-Match
// answers 304 without a body. Building it per request let a flood of GETs take the token endpoint's CPU.
import { createHash } from "node:crypto";
import type { HttpResponseInit } from "@azure/functions";
import { openApiDocument, type SignInDescription } from "./document.js";

interface Built {
  body: string;
  etag: string;
}

const CACHE_CONTROL = "public, max-age=300";

export class ServedOpenApi {
  private built?: Built;

  constructor(private readonly serverUrl: string, private readonly signIn?: SignInDescription) {}

  /** 200 with the document, or 304 when `ifNoneMatch` names its ETag (RFC 9110 §13.1.2: weak comparison, or `*`). */
  answer(ifNoneMatch: string | null): HttpResponseInit {
    const { body, etag } = (this.built ??= build(this.serverUrl, this.signIn));
    const headers = { etag, "cache-control": CACHE_CONTROL };
    if (ifNoneMatch !== null && matches(ifNoneMatch, etag)) return { status: 304, headers };
    return { status: 200, body, headers: { ...headers, "content-type": "application/json" } };
  }
}

function build(serverUrl: string, signIn?: SignInDescription): Built {
  const body = JSON.stringify(openApiDocument(serverUrl, signIn));
  return { body, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"` };
}

function matches(ifNoneMatch: string, etag: string): boolean {
  return ifNoneMatch.split(",").map((tag) => tag.trim().replace(/^W\//, "")).some((tag) => tag === "*" || tag === etag);
}
