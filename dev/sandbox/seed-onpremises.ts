// Seeds the on-premises side of the sandbox: the bridge's AD FS application (client secret in the vault, with
// permission on every on-premises org's relying party), its application user in each org, and the records a
// share of the AD-synced directory users already have there (`CONTOSO\sam`, activedirectoryguid filled), and the
// business units, roles and teams the access rules name (seed-access.ts), as online.
import { randomBytes } from "node:crypto";
import type { AdfsClient, AdfsServer } from "./adfs.js";
import type { DataverseOrg } from "./dataverse/index.js";
import { adObjectGuid, netBiosName } from "./directory.js";
import type { Tenant } from "./tenant.js";
import { seedOrgAccess } from "./seed-access.js";

export interface OnPremisesIdentities {
  adfsClient: AdfsClient;
  adfsCredentialSecretName: string;
  netbiosDomains: Record<string, string>;
  /** An S2S caller of the on-premises orgs: its own AD FS application and application user (never the bridge's). */
  plantCaller: { id: string; secret: string; adfsClient: AdfsClient; tokenCaller: Record<string, unknown> };
}

/**
 * A caller's own AD FS server application (secret in the vault under `secretName`, permission on each org's relying
 * party) and its application user with `roles` in each on-premises org.
 */
export function seedOnPremisesCaller(tenant: Tenant, adfs: AdfsServer, orgs: DataverseOrg[], init: { displayName: string; roles: string[]; secretName: string }): AdfsClient {
  const secret = randomBytes(24).toString("base64url");
  tenant.setSecret(init.secretName, secret);
  const client = adfs.registerClient({ displayName: init.displayName, secrets: [secret], permittedResources: orgs.map((o) => o.url) });
  for (const org of orgs) {
    const user = org.addSystemUser({ domainname: `CONTOSO\\svc-${client.clientId.slice(0, 8)}`, firstname: "#", lastname: init.displayName, applicationid: client.clientId, accessmode: 4 });
    org.assignRoles(user.systemuserid, init.roles);
  }
  return client;
}

function seedPlantCaller(tenant: Tenant, adfs: AdfsServer, orgs: DataverseOrg[]): OnPremisesIdentities["plantCaller"] {
  const adfsClient = seedOnPremisesCaller(tenant, adfs, orgs, { displayName: "Plant floor service", roles: ["Plant Operator"], secretName: "caller-plant-adfs-credential" });
  const secret = randomBytes(24).toString("base64url");
  tenant.setSecret("caller-plant-secret", secret);
  const tokenCaller = {
    id: "plant", name: "Plant floor service", auth: "secret", secretName: "caller-plant-secret", dataverseAppId: adfsClient.clientId,
    credential: { secretName: "caller-plant-adfs-credential" }, roles: ["Plant Operator"], resources: orgs.map((o) => o.url), ratePerMinute: 600,
  };
  return { id: "plant", secret, adfsClient, tokenCaller };
}

export function seedOnPremises(
  tenant: Tenant, adfs: AdfsServer, orgs: DataverseOrg[], options: { existingShare?: number; netbiosDomains?: Record<string, string> } = {},
): OnPremisesIdentities {
  const secret = randomBytes(24).toString("base64url");
  const adfsCredentialSecretName = "bridge-adfs-credential";
  tenant.setSecret(adfsCredentialSecretName, secret);
  for (const org of orgs) adfs.addRelyingParty(org.url);
  const adfsClient = adfs.registerClient({ displayName: "Identity Bridge (AD FS server application)", secrets: [secret], permittedResources: orgs.map((o) => o.url) });
  const netbiosDomains: Record<string, string> = options.netbiosDomains ?? { "contoso.local": "CONTOSO" };

  const adUsers = [...tenant.directory.users.values()].filter((u) => u.state === "active" && u.onPremisesSyncEnabled === true && adObjectGuid(u));
  const existing = Math.floor(adUsers.length * (options.existingShare ?? 0.6));
  for (const org of orgs) {
    org.addSystemUser({ domainname: "CONTOSO\\svc-identity-bridge", firstname: "#", lastname: "Identity Bridge", applicationid: adfsClient.clientId, accessmode: 4 });
    seedOrgAccess(org);
    for (const [i, user] of adUsers.slice(0, existing).entries()) {
      const netbios = netbiosDomains[user.onPremisesDomainName!.toLowerCase()] ?? netBiosName(user.onPremisesDomainName!);
      org.addSystemUser({
        activedirectoryguid: adObjectGuid(user),
        domainname: `${netbios}\\${user.onPremisesSamAccountName}`,
        windowsliveid: null,
        firstname: user.givenName,
        lastname: user.surname,
        internalemailaddress: user.mail ?? user.userPrincipalName,
        jobtitle: i % 4 === 0 ? "Stale title" : user.jobTitle,
        mobilephone: user.mobilePhone,
      });
    }
  }
  return { adfsClient, adfsCredentialSecretName, netbiosDomains, plantCaller: seedPlantCaller(tenant, adfs, orgs) };
}
