// Seeds the sandbox tenant: the bridge's app registration and credential, an admin caller, S2S callers,
// a demo directory and each org's existing systemusers (application user, support user, some stale rows), and
// access (business units, roles, teams, rule groups, licences: seed-access.ts).
import { generateKeyPairSync, randomBytes } from "node:crypto";
import type { DataverseOrg } from "./dataverse/index.js";
import { seedAccess } from "./seed-access.js";
import type { AppRegistration, SignInUser, Tenant } from "./tenant.js";

export interface SeedOptions {
  /** Directory users to create (default 25). */
  users?: number;
  /** Share of directory users that already have a systemuser in each org (default 0.6). */
  existingShare?: number;
  /** UPN domain (default `contoso.com`). */
  domain?: string;
}

export interface SeededIdentities {
  apiAudience: string;
  bridgeApp: AppRegistration;
  bridgeCredentialSecretName: string;
  adminApp: AppRegistration;
  clientStateSecretName: string;
  secretCaller: { id: string; clientId: string; secret: string; secretName: string };
  jwtCaller: { id: string; clientId: string; privateKeyPem: string; publicKeyPem: string; publicKeySecretName: string };
  entraCaller: { id: string; app: AppRegistration };
  /** Each caller's own Dataverse app (its `dataverseAppId`), by caller id. */
  callerApps: Record<string, AppRegistration>;
  tokenCallers: Array<Record<string, unknown>>;
  /** People who sign in to the console: an admin (Bridge.Admin assigned) and a reader without the role. */
  consoleUsers: { admin: SignInUser; reader: SignInUser };
}

/**
 * A caller's own Dataverse identity, set up the way docs/callers.md describes: an app registration with a
 * federated identity credential trusting the bridge's managed identity (or a client secret in the vault),
 * and an application user holding `roles` in each of `orgs`.
 */
export function seedCallerIdentity(tenant: Tenant, orgs: DataverseOrg[], init: {
  displayName: string; roles: string[]; app?: AppRegistration; secretName?: string; federated?: boolean;
}): AppRegistration {
  const app = init.app ?? tenant.registerApp({ displayName: init.displayName });
  if (init.federated !== false) tenant.trustManagedIdentity(app);
  if (init.secretName) {
    const secret = randomBytes(24).toString("base64url");
    app.secrets.push(secret);
    tenant.setSecret(init.secretName, secret);
  }
  for (const org of orgs) {
    const user = org.addSystemUser({ firstname: "#", lastname: init.displayName, applicationid: app.clientId, accessmode: 4, domainname: `${app.clientId}@${org.name}` });
    org.assignRoles(user.systemuserid, init.roles);
  }
  return app;
}

const GIVEN = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim", "Margaret", "Linus", "Sophie", "Niklaus", "Shafi"];
const FAMILY = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Berners-Lee", "Hamilton", "Torvalds", "Wilson", "Wirth", "Goldwasser"];
const TITLES = ["Engineer", "Analyst", "Sales Manager", "Account Executive", "Consultant", null];

export function seedDemo(tenant: Tenant, orgs: DataverseOrg[], options: SeedOptions = {}): SeededIdentities {
  const apiAudience = "api://identity-bridge";
  const domain = options.domain ?? "contoso.com";

  const bridgeSecret = randomBytes(24).toString("base64url");
  const bridgeApp = tenant.registerApp({ displayName: "Identity Bridge", secrets: [bridgeSecret] });
  const bridgeCredentialSecretName = "bridge-app-credential";
  tenant.setSecret(bridgeCredentialSecretName, bridgeSecret);

  const consoleUsers = {
    admin: tenant.addSignInUser({ userPrincipalName: `admin@${domain}`, displayName: "Demo Admin", appRoles: { [apiAudience]: ["Bridge.Admin"] } }),
    reader: tenant.addSignInUser({ userPrincipalName: `reader@${domain}`, displayName: "Demo Reader", appRoles: {} }),
  };

  const adminApp = tenant.registerApp({ displayName: "Bridge admin console", roles: { [apiAudience]: ["Bridge.Admin"] } });

  const clientStateSecretName = "graph-notification-client-state";
  tenant.setSecret(clientStateSecretName, randomBytes(32).toString("base64url"));

  const secretCallerSecret = randomBytes(24).toString("base64url");
  const secretCaller = { id: "reporting", clientId: "reporting-service", secret: secretCallerSecret, secretName: "caller-reporting-secret" };
  tenant.setSecret(secretCaller.secretName, secretCallerSecret);

  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwtCaller = {
    id: "erp",
    clientId: "erp-connector",
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    publicKeySecretName: "caller-erp-public-key",
  };
  tenant.setSecret(jwtCaller.publicKeySecretName, jwtCaller.publicKeyPem, "application/x-pem-file");

  const entraApp = tenant.registerApp({ displayName: "Integration worker", secrets: [randomBytes(24).toString("base64url")] });
  const entraCaller = { id: "worker", app: entraApp };

  const allOrgs = orgs.map((o) => o.url);
  // Each caller acts as its own application user with its own least-privilege role, never as the bridge.
  const callerApps: Record<string, AppRegistration> = {
    [secretCaller.id]: seedCallerIdentity(tenant, orgs, { displayName: "Reporting service", roles: ["Reporting Reader"] }),
    // Without federation: the app's own client secret in the vault.
    [jwtCaller.id]: seedCallerIdentity(tenant, orgs.slice(0, 1), { displayName: "ERP connector", roles: ["ERP Integration"], secretName: "caller-erp-dataverse-credential", federated: false }),
    // An Entra caller may act as its own app registration.
    [entraCaller.id]: seedCallerIdentity(tenant, orgs, { displayName: "Integration worker", roles: ["Integration Worker"], app: entraApp }),
  };
  const tokenCallers = [
    { id: secretCaller.id, name: "Reporting service", auth: "secret", secretName: secretCaller.secretName, dataverseAppId: callerApps[secretCaller.id]!.clientId, roles: ["Reporting Reader"], resources: allOrgs, ratePerMinute: 600 },
    { id: jwtCaller.id, name: "ERP connector", auth: "private_key_jwt", publicKeySecretName: jwtCaller.publicKeySecretName, dataverseAppId: callerApps[jwtCaller.id]!.clientId, credential: { secretName: "caller-erp-dataverse-credential" }, roles: ["ERP Integration"], resources: allOrgs.slice(0, 1), ratePerMinute: 600 },
    { id: entraCaller.id, name: "Integration worker", auth: "entra", appId: entraApp.clientId, dataverseAppId: entraApp.clientId, roles: ["Integration Worker"], resources: allOrgs, ratePerMinute: 600 },
  ];
  // The private_key_jwt caller authenticates with its policy id as client_id.
  jwtCaller.clientId = jwtCaller.id;
  secretCaller.clientId = secretCaller.id;

  const count = options.users ?? 25;
  const existingShare = options.existingShare ?? 0.6;
  const users = [];
  for (let i = 0; i < count; i++) {
    const given = GIVEN[i % GIVEN.length]!;
    const family = FAMILY[Math.floor(i / GIVEN.length) % FAMILY.length]!;
    const suffix = i >= GIVEN.length * FAMILY.length ? String(i) : "";
    const alias = `${given}.${family}${suffix}`.toLowerCase().replace(/[^a-z0-9.]/g, "");
    users.push(tenant.directory.addUser({
      userPrincipalName: `${alias}@${domain}`,
      displayName: `${given} ${family}`,
      givenName: given,
      surname: family,
      mail: `${alias}@${domain}`,
      jobTitle: TITLES[i % TITLES.length] ?? null,
      mobilePhone: i % 3 === 0 ? `+1 555 01${String(i % 100).padStart(2, "0")}` : null,
      accountEnabled: true,
      onPremisesSamAccountName: alias.replace(/\./g, "").slice(0, 20),
      onPremisesDomainName: "contoso.local",
    }));
  }

  for (const org of orgs) {
    org.addSystemUser({ domainname: `${bridgeApp.clientId}@sandbox`, firstname: "#", lastname: "Identity Bridge", applicationid: bridgeApp.clientId, accessmode: 4 });
    org.addSystemUser({ domainname: "crmoln@microsoft.com", firstname: "Support", lastname: "User", accessmode: 3, azureactivedirectoryobjectid: null });
    const existing = Math.floor(users.length * existingShare);
    for (const [i, user] of users.slice(0, existing).entries()) {
      org.addSystemUser({
        azureactivedirectoryobjectid: user.id,
        domainname: user.userPrincipalName,
        firstname: user.givenName,
        lastname: user.surname,
        internalemailaddress: user.mail ?? user.userPrincipalName,
        // Every fourth existing row has drifted from the directory.
        jobtitle: i % 4 === 0 ? "Stale title" : user.jobTitle,
        mobilephone: user.mobilePhone,
      });
    }
  }

  seedAccess(tenant, orgs, users);
  return { consoleUsers, apiAudience, bridgeApp, bridgeCredentialSecretName, adminApp, clientStateSecretName, secretCaller, jwtCaller, entraCaller, callerApps, tokenCallers };
}

