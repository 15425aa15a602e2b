// What "converged" means for a directory user's record, computed independently of the product's mapping
// (the default attribute map). Shared by the sync tests and the chaos soak (which runs outside vitest).
import type { DirectoryUser } from "../../dev/sandbox/directory.js";
import type { DataverseOrg } from "../../dev/sandbox/dataverse/index.js";

export function expectedColumns(user: DirectoryUser) {
  return {
    domainname: user.userPrincipalName,
    firstname: user.givenName,
    lastname: user.surname,
    internalemailaddress: user.mail ?? user.userPrincipalName,
    jobtitle: user.jobTitle,
    mobilephone: user.mobilePhone,
  };
}

export function recordsOf(org: DataverseOrg, objectId: string) {
  return [...org.users.values()].filter((r) => (r.azureactivedirectoryobjectid ?? "").toLowerCase() === objectId.toLowerCase());
}
