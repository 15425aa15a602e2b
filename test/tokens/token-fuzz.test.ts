// Property: whatever the form body (and Authorization header), POST /api/token never answers 5xx and always
// answers an RFC 6749 §5.2 error or a token, with the no-store headers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { addTestCallers, basic, JWT_BEARER, postForm, TOKEN_EXCHANGE, ACCESS_TOKEN_TYPE } from "./support.js";
import { deepJson, oddString } from "../support/odd-values.js";

let env: BridgeEnvironment;
let handler: typeof import("../../functions/token.http.js").token;

beforeAll(async () => {
  env = await startBridgeEnvironment({ orgs: 1 });
  addTestCallers(env, { reportingRate: 1_000_000 });
  ({ token: handler } = await import("../../functions/token.http.js"));
});
afterAll(async () => env?.stop());

const ERRORS = new Set(["invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope", "invalid_target", "temporarily_unavailable"]);

describe("form body fuzz", () => {
  it("never yields a 5xx", async () => {
    const org = env.sandbox.dataverse[0]!.url;
    const { secretCaller, jwtCaller } = env.sandbox.identities;
    const names = ["grant_type", "client_id", "client_secret", "client_assertion", "client_assertion_type", "scope", "resource", "audience",
      "subject_token", "subject_token_type", "actor_token", "actor_token_type", "requested_token_type", "x"];
    const values = fc.oneof(
      fc.string(), fc.string({ unit: "binary" }), fc.webUrl(),
      fc.constantFrom("client_credentials", TOKEN_EXCHANGE, JWT_BEARER, ACCESS_TOKEN_TYPE, `${org}/.default`, org, secretCaller.clientId,
        secretCaller.secret, jwtCaller.clientId, "eyJhbGciOiJub25lIn0.e30.", "a.b.c", "%", "%zz", "&&==", ""),
    );
    const structured = fc.array(fc.tuple(fc.constantFrom(...names), values), { maxLength: 12 })
      .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&"));
    const body = fc.oneof(structured, fc.string(), fc.string({ unit: "binary" }), fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b).toString("latin1")));
    const authorization = fc.option(fc.oneof(
      fc.string().map((s) => `Basic ${s}`), fc.string(), fc.base64String().map((s) => `Basic ${s}`),
      fc.constant(basic(secretCaller.clientId, secretCaller.secret)), fc.constant("Bearer x"),
    ), { nil: undefined });

    await fc.assert(fc.asyncProperty(body, authorization, async (form, auth) => {
      const res = await postForm(handler, form, auth === undefined ? {} : { authorization: auth });
      expect(res.status).toBeLessThan(500);
      expect(res.headers["cache-control"]).toBe("no-store");
      if (res.status === 200) expect(typeof res.body.access_token).toBe("string");
      else expect(ERRORS.has(res.body.error)).toBe(true);
    }), { numRuns: 400 });
  }, 120_000);

  it("odd values (long, lone surrogates, control characters, deep JSON, many parameters) never yield a 5xx", async () => {
    const { secretCaller } = env.sandbox.identities;
    const names = fc.constantFrom("grant_type", "client_id", "client_secret", "client_assertion", "client_assertion_type", "scope", "resource", "subject_token", "x");
    // Raw form text: percent-encoding is skipped on purpose so lone surrogates and controls arrive as they are.
    const pair = fc.tuple(names, fc.oneof(oddString, deepJson)).map(([k, v]) => `${k}=${v}`);
    const manyParams = fc.constantFrom(1_000, 10_000).map((n) => Array.from({ length: n }, (_, i) => `resource=${i}`).join("&"));
    const body = fc.oneof(fc.array(pair, { maxLength: 6 }).map((p) => p.join("&")), manyParams, oddString);
    const authorization = fc.option(fc.oneof(
      fc.constant(basic(secretCaller.clientId, secretCaller.secret)),
      oddString.filter((s) => /^[\x20-\x7e]*$/.test(s)).map((s) => `Basic ${Buffer.from(`${s}:${s}`).toString("base64")}`),
    ), { nil: undefined });
    await fc.assert(fc.asyncProperty(body, authorization, async (form, auth) => {
      const res = await postForm(handler, form, auth === undefined ? {} : { authorization: auth });
      expect(res.status, form.slice(0, 80)).toBeLessThan(500);
      expect(res.text).not.toMatch(/\n\s+at |node:internal/);
      if (res.status !== 200) expect(ERRORS.has(res.body.error)).toBe(true);
    }), { numRuns: 200 });
  }, 180_000);
});
