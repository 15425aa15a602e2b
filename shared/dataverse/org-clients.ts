// One DataverseClient per configured org per process, authenticated with the bridge's app credential.
import { getConfig } from "../config/config.js";
import { normalizeOrgUrl } from "../config/org-url.js";
import { appCredential } from "../credentials/app-credential.js";
import { AppError } from "../errors/app-error.js";
import { DataverseClient } from "./client.js";

const clients = new Map<string, DataverseClient>();


/** The client for a configured org; a URL that is not in DATAVERSE_URLS is refused. */
export function dataverseClient(orgUrl: string): DataverseClient {
  const key = normalizeOrgUrl(orgUrl);
  let client = clients.get(key);
  if (!client) {
    if (!getConfig().dataverseUrls.includes(key)) {
      throw new AppError(`"${orgUrl}" is not one of the configured Dataverse orgs (DATAVERSE_URLS).`, 404, "unknown_org");
    }
    client = new DataverseClient({
      orgUrl: key,
      getToken: async (scope, options) => {
        const token = await appCredential().getToken(scope, { forceRefresh: options?.forceRefresh });
        return token.token;
      },
    });
    clients.set(key, client);
  }
  return client;
}
