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
import { AdfsServer, createAdfsHandler } from "./adfs.js";
import { createOnPremisesDataverseHandler, makeOnPremises } from "./dataverse/onpremises.js";
import { seedOnPremises, type OnPremisesIdentities } from "./seed-onpremises.js";

export interface SandboxOptions {
  tls?: SandboxTls;
  /** Folder for the generated CA when `tls` is not given. */
  tlsDir?: string;
  /** How many Dataverse orgs to start. */
  orgs?: number;
  /** How many on-premises (AD FS) orgs to start besides them (default 0; with any, AD FS starts too). */
  onPremisesOrgs?: number;
  /**
   * A separate CA for AD FS and the on-premises orgs (a company's internal PKI): their certificate then chains to a
   * CA that NODE_EXTRA_CA_CERTS does not name, so the bridge reaches them only through ONPREM_CA_BUNDLE_SECRET_NAME.
   */
  onPremisesTls?: SandboxTls;
  seed?: SeedOptions;
  /** Fixed ports (npm start keeps them stable between runs); 0 = any free port. */
  ports?: { entra?: number; keyVault?: number; graph?: number; dataverse?: number[]; adfs?: number; onPremises?: number[] };
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
  /** On-premises orgs (DATAVERSE_ORGS kind onpremises) and their AD FS, when asked for. */
  onPremises: Array<RunningService & { org: DataverseOrg }>;
  adfs?: RunningService & { emulator: AdfsServer };
  onPremisesIdentities?: OnPremisesIdentities;
  identities: SeededIdentities;
  /** App settings that point the bridge at this sandbox. */
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
  const onPrem = await startOnPremises(tls, tenant, options);
  if (options.publicBaseUrl) identities.bridgeApp.spaRedirectUris.push(`${options.publicBaseUrl}/api/console/`);
  const env: Record<string, string> = {
    AZURE_TENANT_ID: tenant.tenantId,
    APP_CLIENT_ID: identities.bridgeApp.clientId,
    AZURE_AUTHORITY_HOST: entra.url,
    KEY_VAULT_URL: keyVault.url,
    ...(identities.bridgeCredentialSecretName ? { APP_CREDENTIAL_SECRET_NAME: identities.bridgeCredentialSecretName } : {}),
    GRAPH_BASE_URL: graphService.url,
    DATAVERSE_URLS: dataverse.map((d) => d.url).join(","),
    ...(onPrem.identities ? { DATAVERSE_ORGS: dataverseOrgs(dataverse, onPrem.orgs, onPrem.adfs!.emulator, onPrem.identities) } : {}),
    API_AUDIENCE: identities.apiAudience,
    TOKEN_CALLERS: JSON.stringify([...identities.tokenCallers, ...(onPrem.identities ? [onPrem.identities.plantCaller.tokenCaller] : [])]),
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
    onPremises: onPrem.orgs,
    adfs: onPrem.adfs,
    onPremisesIdentities: onPrem.identities,
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
      await Promise.all([entra.close(), keyVault.close(), graphService.close(), ...dataverse.map((d) => d.close()),
        ...onPrem.orgs.map((d) => d.close()), ...(onPrem.adfs ? [onPrem.adfs.close()] : [])]);
    },
  };
}

interface OnPremisesPart {
  orgs: Array<RunningService & { org: DataverseOrg }>;
  adfs?: RunningService & { emulator: AdfsServer };
  identities?: OnPremisesIdentities;
}

/** AD FS and the on-premises orgs behind it, seeded from the directory's AD-synced users. */
async function startOnPremises(tls: SandboxTls, tenant: Tenant, options: SandboxOptions): Promise<OnPremisesPart> {
  const count = options.onPremisesOrgs ?? 0;
  if (count === 0) return { orgs: [] };
  const server = await AdfsServer.create();
  const onPremTls = options.onPremisesTls ?? tls;
  const adfsService = await startHttpsService(onPremTls, "adfs", createAdfsHandler(server), { port: options.ports?.adfs });
  server.url = adfsService.url;
  const orgs: Array<RunningService & { org: DataverseOrg }> = [];
  const netbiosDomains = { "contoso.local": "CONTOSO" };
  for (let i = 0; i < count; i++) {
    const org = new DataverseOrg(tenant, `onprem${i + 1}`);
    makeOnPremises(org, { adfs: server, netbiosDomains });
    const service = await startHttpsService(onPremTls, `dataverse-${org.name}`, createOnPremisesDataverseHandler(tenant, org, server), { port: options.ports?.onPremises?.[i] });
    org.url = service.url;
    orgs.push({ ...service, org });
  }
  // One map object: the orgs read it on every write, so a test can rename a NetBIOS domain in place.
  const identities = seedOnPremises(tenant, server, orgs.map((o) => o.org), { netbiosDomains });
  return { orgs, adfs: { ...adfsService, emulator: server }, identities };
}

/** DATAVERSE_ORGS for the online and on-premises orgs. */
function dataverseOrgs(online: RunningService[], onPremises: RunningService[], adfs: AdfsServer, ids: OnPremisesIdentities): string {
  return JSON.stringify([
    ...online.map((d) => ({ url: d.url, kind: "online" })),
    ...onPremises.map((d) => ({
      url: d.url, kind: "onpremises", authority: adfs.issuer, clientId: ids.adfsClient.clientId,
      credentialSecretName: ids.adfsCredentialSecretName, netbiosDomains: ids.netbiosDomains,
    })),
  ]);
}
