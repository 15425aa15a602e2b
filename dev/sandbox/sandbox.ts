// Starts the sandbox tenant: Entra ID (+ managed identity endpoint), Key Vault, Microsoft Graph and one
// Dataverse org per requested URL, all HTTPS on loopback, sharing one in-memory Tenant.
import { createEntraHandler } from "./entra.js";
import { createKeyVaultHandler } from "./keyvault.js";
import { createGraphHandler, type GraphEmulator } from "./graph.js";
import { DataverseOrg, createDataverseHandler } from "./dataverse/index.js";
import { startHttpsService, type RunningService } from "./https-service.js";
import { Tenant } from "./tenant.js";
import { ensureSandboxTls, type SandboxTls } from "./tls.js";
import { seedDemo, type SeedOptions, type SeededIdentities } from "./seed.js";

export interface SandboxOptions {
  tls?: SandboxTls;
  /** Folder for the generated CA when `tls` is not given. */
  tlsDir?: string;
  /** How many Dataverse orgs to start. */
  orgs?: number;
  seed?: SeedOptions;
  /** Fixed ports (npm start keeps them stable between runs); 0 = any free port. */
  ports?: { entra?: number; keyVault?: number; graph?: number; dataverse?: number[] };
  /** The bridge's public origin: sets PUBLIC_BASE_URL and registers `<it>/api/console/` as the app's SPA redirect URI. */
  publicBaseUrl?: string;
}

export interface Sandbox {
  tls: SandboxTls;
  tenant: Tenant;
  entra: RunningService;
  keyVault: RunningService;
  graph: RunningService & { emulator: GraphEmulator };
  dataverse: Array<RunningService & { org: DataverseOrg }>;
  identities: SeededIdentities;
  /** App settings (contract §1) that point the bridge at this sandbox. */
  env: Record<string, string>;
  /** A bearer token carrying the admin role, for the admin endpoints. */
  adminToken(options?: { roles?: string[]; lifetimeSeconds?: number }): Promise<string>;
  stop(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const tls = options.tls ?? ensureSandboxTls(options.tlsDir ?? ".sandbox/tls");
  const tenant = await Tenant.create();
  const ports = options.ports ?? {};

  const entra = await startHttpsService(tls, "entra", createEntraHandler(tenant), { port: ports.entra });
  tenant.authorityUrl = entra.url;
  const keyVault = await startHttpsService(tls, "keyvault", createKeyVaultHandler(tenant), { port: ports.keyVault });
  let graphUrl = "";
  const { handler: graphHandler, emulator } = createGraphHandler(tenant, { baseUrl: () => graphUrl });
  const graphService = await startHttpsService(tls, "graph", graphHandler, { port: ports.graph });
  graphUrl = graphService.url;

  const dataverse: Array<RunningService & { org: DataverseOrg }> = [];
  for (let i = 0; i < (options.orgs ?? 1); i++) {
    const org = new DataverseOrg(tenant, `org${i + 1}`);
    const service = await startHttpsService(tls, `dataverse-${org.name}`, createDataverseHandler(tenant, org), { port: ports.dataverse?.[i] });
    org.url = service.url;
    dataverse.push({ ...service, org });
  }

  const identities = seedDemo(tenant, dataverse.map((d) => d.org), options.seed);
  if (options.publicBaseUrl) identities.bridgeApp.spaRedirectUris.push(`${options.publicBaseUrl}/api/console/`);
  const env: Record<string, string> = {
    AZURE_TENANT_ID: tenant.tenantId,
    APP_CLIENT_ID: identities.bridgeApp.clientId,
    AZURE_AUTHORITY_HOST: entra.url,
    KEY_VAULT_URL: keyVault.url,
    APP_CREDENTIAL_SECRET_NAME: identities.bridgeCredentialSecretName,
    GRAPH_BASE_URL: graphService.url,
    DATAVERSE_URLS: dataverse.map((d) => d.url).join(","),
    API_AUDIENCE: identities.apiAudience,
    TOKEN_CALLERS: JSON.stringify(identities.tokenCallers),
    NOTIFICATION_CLIENT_STATE_SECRET_NAME: identities.clientStateSecretName,
    IDENTITY_ENDPOINT: `${entra.url}/msi/token`,
    IDENTITY_HEADER: tenant.identityHeader,
    NODE_EXTRA_CA_CERTS: tls.caPath,
    ...(options.publicBaseUrl ? { PUBLIC_BASE_URL: options.publicBaseUrl } : {}),
  };

  return {
    tls,
    tenant,
    entra,
    keyVault,
    graph: { ...graphService, emulator },
    dataverse,
    identities,
    env,
    adminToken: async (o = {}) =>
      (await tenant.issueAccessToken({
        clientId: identities.adminApp.clientId,
        audience: identities.apiAudience,
        roles: o.roles ?? ["Bridge.Admin"],
        lifetimeSeconds: o.lifetimeSeconds,
      })).token,
    stop: async () => {
      await Promise.all([entra.close(), keyVault.close(), graphService.close(), ...dataverse.map((d) => d.close())]);
    },
  };
}
