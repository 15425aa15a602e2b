// One Dataverse emulator over HTTPS for its fidelity tests: a tenant, an org with the bridge's application user,
// a token for that user, and a third-party client (dynamics-web-api) that sends it.
import { DynamicsWebApi } from "dynamics-web-api";
import { startHttpsService } from "../../dev/sandbox/https-service.js";
import { Tenant } from "../../dev/sandbox/tenant.js";
import { DataverseOrg, createDataverseHandler } from "../../dev/sandbox/dataverse/index.js";
import { testTls } from "./sandbox.js";

export interface DataverseEmulator {
  tenant: Tenant;
  org: DataverseOrg;
  /** The bridge application user's access token for the org. */
  token: string;
  api: DynamicsWebApi;
  close(): Promise<void>;
}

/** `authorityUrl`: the tenant's token issuer base, when a test checks it. */
export async function startDataverseEmulator(options: { authorityUrl?: string } = {}): Promise<DataverseEmulator> {
  const tenant = await Tenant.create();
  if (options.authorityUrl) tenant.authorityUrl = options.authorityUrl;
  const org = new DataverseOrg(tenant, "org1");
  const service = await startHttpsService(testTls(), "dataverse", createDataverseHandler(tenant, org));
  org.url = service.url;
  const app = tenant.registerApp({ displayName: "Identity Bridge" });
  org.addSystemUser({ applicationid: app.clientId, firstname: "#", lastname: "Identity Bridge", accessmode: 4 });
  const token = (await tenant.issueAccessToken({ clientId: app.clientId, audience: org.url })).token;
  const api = new DynamicsWebApi({ serverUrl: org.url, dataApi: { version: "9.2" }, onTokenRefresh: async () => token });
  return { tenant, org, token, api, close: () => service.close() };
}
