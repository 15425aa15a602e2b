// Assertions shared by the sync tests: what "converged" means, computed independently of the product's mapping.
import { expect } from "vitest";
import type { DataverseOrg } from "../../dev/sandbox/dataverse/index.js";
import type { Sandbox } from "../../dev/sandbox/sandbox.js";
import { expectedColumns, recordsOf } from "../support/converged.js";

export { expectedColumns, recordsOf };

/** Every active directory user has exactly one record with the mapped columns, enabled iff the account is. */
export function expectConverged(sandbox: Sandbox, org: DataverseOrg): void {
  for (const user of sandbox.tenant.directory.users.values()) {
    const records = recordsOf(org, user.id);
    if (user.state !== "active") {
      for (const record of records) expect(record.isdisabled, `${user.userPrincipalName} (deleted) stays disabled`).toBe(true);
      continue;
    }
    if (!user.accountEnabled) {
      for (const record of records) expect(record.isdisabled, `${user.userPrincipalName} (disabled) is disabled`).toBe(true);
      continue;
    }
    expect(records, `${user.userPrincipalName} has exactly one record`).toHaveLength(1);
    const record = records[0]!;
    expect(record.isdisabled, `${user.userPrincipalName} is enabled`).toBe(false);
    expect({
      domainname: record.domainname, firstname: record.firstname, lastname: record.lastname,
      internalemailaddress: record.internalemailaddress, jobtitle: record.jobtitle, mobilephone: record.mobilephone,
    }).toEqual(expectedColumns(user));
  }
}
