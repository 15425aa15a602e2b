// Seeds the on-premises side of the sandbox: the bridge's AD FS application (client secret in the vault, with
// permission on every on-premises org's relying party), its application user in each org, and the records a
// share of the AD-synced directory users already have there (`CONTOSO\sam`, activedirectoryguid filled).
import { randomBytes } from "node:crypto";
import type { AdfsClient, AdfsServer } from "./adfs.js";
import type { DataverseOrg } from "./dataverse/index.js";
import { adObjectGuid, netBiosName } from "./directory.js";
import type { Tenant } from "./tenant.js";

export interface OnPremisesIdentities {
  adfsClient: AdfsClient;
  adfsCredentialSecretName: string;
  netbiosDomains: Record<string, string>;
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
  return { adfsClient, adfsCredentialSecretName, netbiosDomains };
}
