// One DataverseClient per configured org: online orgs with the bridge's Entra app credential,
// on-premises orgs with the bridge's AD FS application (DATAVERSE_ORGS), each on its Web API version.
// The composition root (shared/bridge.ts) holds one OrgClients, so each org's client (and its limiter) is built once.
import type { AppCredential } from "../credentials/app-credential.js";
import { orgDescriptor, type Config } from "../config/config.js";
import { normalizeOrgUrl, unknownOrg } from "../config/org-url.js";
import type { OrgDescriptor } from "../config/dataverse-orgs.js";
import { AdfsCredential, adfsTransport } from "../credentials/adfs-credential.js";
import type { OnPremisesCa } from "../credentials/onprem-ca.js";
import type { SecretReader } from "../credentials/secret-store.js";
import { DataverseClient } from "./client.js";
import type { GetToken } from "./http.js";
import { OrgThrottle } from "./limiter.js";
import { DataverseAccess } from "../access/dataverse-access.js";

/** A GetToken over the bridge's app credential (online orgs). */
export function credentialToken(credential: Pick<AppCredential, "getToken">): GetToken {
  return async (scope, options) => (await credential.getToken(scope, { forceRefresh: options?.forceRefresh })).token;
}

export class OrgClients {
  private readonly clients = new Map<string, DataverseClient>();
  private readonly throttles = new Map<string, OrgThrottle>();
  private readonly accessPorts = new Map<string, DataverseAccess>();

  constructor(
    private readonly config: Config,
    private readonly appCredential: Pick<AppCredential, "getToken">,
    private readonly secrets: SecretReader,
    /** The on-premises CA bundle's trust, for on-premises orgs and their AD FS only. */
    private readonly onPremisesCa?: OnPremisesCa,
  ) {}

  /** The client for a configured org; a URL that is not configured is refused. */
  get(orgUrl: string): DataverseClient {
    const descriptor = orgDescriptor(this.config, orgUrl);
    if (!descriptor) throw unknownOrg(orgUrl);
    let client = this.clients.get(descriptor.url);
    if (!client) {
      client = new DataverseClient({
        orgUrl: descriptor.url, apiVersion: descriptor.apiVersion, getToken: this.tokenProvider(descriptor), throttle: this.throttle(descriptor.url),
        ...(descriptor.kind === "onpremises" ? { onPremisesCa: this.onPremisesCa } : {}),
      });
      this.clients.set(descriptor.url, client);
    }
    return client;
  }

  /** The org's access port (business units, roles, teams), on the org's token and throttle. */
  access(orgUrl: string): DataverseAccess {
    const descriptor = orgDescriptor(this.config, orgUrl);
    if (!descriptor) throw unknownOrg(orgUrl);
    let port = this.accessPorts.get(descriptor.url);
    if (!port) {
      port = new DataverseAccess(descriptor.url, { apiVersion: descriptor.apiVersion, getToken: this.tokenProvider(descriptor), throttle: this.throttle(descriptor.url) });
      this.accessPorts.set(descriptor.url, port);
    }
    return port;
  }

  /**
   * The org's throttle: its limiter and Retry-After pause, shared by every request the bridge sends to the org
   * (the sync's client, the readiness probe, the caller provisioning port).
   */
  throttle(orgUrl: string): OrgThrottle {
    const key = normalizeOrgUrl(orgUrl);
    let throttle = this.throttles.get(key);
    if (!throttle) this.throttles.set(key, (throttle = new OrgThrottle()));
    return throttle;
  }

  /** How the bridge gets its own token for an org. */
  private tokenProvider(org: OrgDescriptor): GetToken {
    if (org.kind === "onpremises") {
      const adfs = new AdfsCredential(org.adfs!, this.secrets, adfsTransport(this.onPremisesCa));
      // AD FS names the target by resource: the org URL is the CRM relying party's identifier.
      return async (_scope, options) => (await adfs.getToken(org.url, { forceRefresh: options?.forceRefresh })).token;
    }
    return credentialToken(this.appCredential);
  }
}
