// Refresh-ahead against the sandbox Entra, through the endpoint, counting token requests Entra receives.
// The cache's clock is skewed forward to reach its refresh window without waiting; the issued lifetime is
// under MSAL's own 5-minute renewal offset, so every refresh the cache asks for really reaches Entra.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";
import { basic, entraTokenPosts, postForm } from "./support.js";
import { waitFor } from "../support/wait-for.js";

let env: BridgeEnvironment;
let handler: typeof import("../../functions/token.http.js").token;
let skewMs = 0;

beforeAll(async () => {
  env = await startBridgeEnvironment({ orgs: 1 });
  env.sandbox.tenant.tokenLifetimeSeconds = 240;
  const { tokenHandler } = await import("../../functions/token.http.js");
  const { DataverseTokenCache } = await import("../../shared/tokens/dataverse-token-cache.js");
  const { testBridge } = await import("../support/test-bridge.js");
  const root = testBridge({ tokens: { callerTokenCache: new DataverseTokenCache({ now: () => Date.now() + skewMs }) } });
  handler = tokenHandler(() => root);
});
afterAll(async () => env?.stop());


describe("refresh-ahead", () => {
  it("serves the cached token while one background refresh runs, then the new one; refreshes first when too close to expiry", async () => {
    const { clientId, secret } = env.sandbox.identities.secretCaller;
    const org = env.sandbox.dataverse[0]!.url;
    const call = async () => {
      const res = await postForm(handler, { grant_type: "client_credentials", scope: `${org}/.default` }, { authorization: basic(clientId, secret) });
      expect(res.status).toBe(200);
      return res.body as { access_token: string; expires_in: number };
    };
    const start = entraTokenPosts(env);
    const first = await call();
    expect(entraTokenPosts(env) - start).toBe(1);
    expect(first.expires_in).toBeLessThanOrEqual(240); // the real lifetime, not an assumed hour

    // Inside the refresh window (240 s left < 5 min) and past the retry guard: cached token now, refresh behind.
    skewMs = 31_000;
    const during = await Promise.all(Array.from({ length: 20 }, call));
    expect(during.every((r) => r.access_token === first.access_token)).toBe(true);
    // Once the one background refresh lands, calls get its token; meanwhile they get the cached one, and none of
    // them asks Entra again.
    const second = await waitFor(async () => {
      const now = await call();
      return now.access_token === first.access_token ? undefined : now;
    });
    expect(entraTokenPosts(env) - start).toBe(2);

    // Too close to expiry to be useful (under 2 min left by the cache's clock): callers wait for a fresh one.
    skewMs += 150_000;
    const third = await call();
    expect(entraTokenPosts(env) - start).toBe(3);
    expect(third.access_token).not.toBe(second.access_token);
    expect((decodeJwt(third.access_token).exp as number) * 1000).toBeGreaterThanOrEqual((decodeJwt(second.access_token).exp as number) * 1000);
  });
});
