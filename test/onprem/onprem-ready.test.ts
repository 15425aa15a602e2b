// Issue #19 item 3: GET /api/ready with an on-premises org beside an online one. The on-premises org's checks use
// its own token (AD FS) and its own Web API version (9.1: on-premises servers have no 9.2), so both orgs are ready.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callHandler, startBridgeEnvironment, type BridgeEnvironment } from "../support/bridge-env.js";

let env: BridgeEnvironment;

beforeAll(async () => {
  env = await startBridgeEnvironment({ seed: { users: 3 }, onPremisesOrgs: 1 });
});
afterAll(async () => env?.stop());

describe("GET /api/ready with an on-premises org", () => {
  it("reports every org ready: WhoAmI at each org's API version, with each org's own token", async () => {
    const { ready } = await import("../../functions/ready.http.js");
    const res = await callHandler(ready, "/api/ready", { headers: { authorization: `Bearer ${await env.sandbox.adminToken()}` } });
    const onPremises = env.sandbox.onPremises[0]!.org.url;
    const checks = res.body.checks as Array<{ name: string; ok: boolean; detail?: string; cause?: string }>;
    const failed = checks.filter((c) => !c.ok);
    expect(failed, JSON.stringify(failed)).toEqual([]);
    expect(res.status).toBe(200);
    expect(checks.find((c) => c.name === `dataverse-whoami:${onPremises}`)).toMatchObject({ ok: true });
    expect(checks.find((c) => c.name === `dataverse-token:${onPremises}`)).toMatchObject({ ok: true });
  });
});
