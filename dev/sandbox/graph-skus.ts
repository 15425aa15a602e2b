// GET /v1.0/subscribedSkus: the licences the tenant has bought, mapping skuId to skuPartNumber
// (learn.microsoft.com/graph/api/subscribedsku-list). Service plans are not modelled (an empty list).
import { contextUrl } from "./graph-odata.js";
import type { Tenant } from "./tenant.js";

export function listSubscribedSkus(tenant: Tenant, base: string): Record<string, unknown> {
  const directory = tenant.directory;
  const consumed = new Map<string, number>();
  for (const user of directory.users.values()) {
    if (user.state !== "active") continue;
    for (const licence of user.assignedLicenses) consumed.set(licence.skuId, (consumed.get(licence.skuId) ?? 0) + 1);
  }
  const value = [...directory.subscribedSkus.values()].map((sku) => ({
    accountId: tenant.tenantId,
    appliesTo: "User",
    capabilityStatus: "Enabled",
    consumedUnits: consumed.get(sku.skuId) ?? 0,
    id: `${tenant.tenantId}_${sku.skuId}`,
    prepaidUnits: { enabled: sku.enabledUnits, suspended: 0, warning: 0, lockedOut: 0 },
    servicePlans: [],
    skuId: sku.skuId,
    skuPartNumber: sku.skuPartNumber,
    subscriptionIds: [],
  }));
  return { "@odata.context": contextUrl(base, "subscribedSkus"), value };
}
