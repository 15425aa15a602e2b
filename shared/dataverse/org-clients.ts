// One DataverseClient per configured org per process: online orgs with the bridge's Entra app credential,
// on-premises orgs with the bridge's AD FS application (DATAVERSE_ORGS), each on its Web API version.
import { getConfig, orgDescriptor } from "../config/config.js";
import type { OrgDescriptor } from "../config/dataverse-orgs.js";
import { AdfsCredential } from "../credentials/adfs-credential.js";
import { appCredential } from "../credentials/app-credential.js";
import { secretStore } from "../credentials/secret-store.js";
import { AppError } from "../errors/app-error.js";
import { DataverseClient } from "./client.js";
import type { GetToken } from "./http.js";

const clients = new Map<string, DataverseClient>();

/** How the bridge gets its own token for an org. */
function tokenProvider(org: OrgDescriptor): GetToken {
  if (org.kind === "onpremises") {
    const adfs = new AdfsCredential(org.adfs!, secretStore());
    // AD FS names the target by resource: the org URL is the CRM relying party's identifier.
    return async (_scope, options) => (await adfs.getToken(org.url, { forceRefresh: options?.forceRefresh })).token;
  }
  return async (scope, options) => (await appCredential().getToken(scope, { forceRefresh: options?.forceRefresh })).token;
}

/** The client for a configured org; a URL that is not configured is refused. */
export function dataverseClient(orgUrl: string): DataverseClient {
  const descriptor = orgDescriptor(getConfig(), orgUrl);
  if (!descriptor) {
    throw new AppError(`"${orgUrl}" is not one of the configured Dataverse orgs (DATAVERSE_URLS / DATAVERSE_ORGS).`, 404, "unknown_org");
  }
  let client = clients.get(descriptor.url);
  if (!client) {
    client = new DataverseClient({ orgUrl: descriptor.url, apiVersion: descriptor.apiVersion, getToken: tokenProvider(descriptor) });
    clients.set(descriptor.url, client);
  }
  return client;
}
