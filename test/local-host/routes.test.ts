import { describe, expect, it } from "vitest";
import { RouteTable } from "../../dev/local-host/routes.js";

describe("local host route table", () => {
  const table = new RouteTable<string>();
  table.add("users/{objectIdOrUpn}/sync", ["POST"], "userSync");
  table.add("users/remap", ["POST"], "remap");
  table.add("users/remap/bulk", ["POST"], "bulk");
  table.add("users/remap/bulk/{jobId}", ["GET"], "bulkStatus");
  table.add("sync/runs/{runId}", ["GET"], "run");
  table.add("sync/status", ["GET"], "status");
  table.add("items/{id?}", ["GET"], "optional");

  it("prefers literal segments over parameters", () => {
    expect(table.match("POST", "users/remap").match?.target).toBe("remap");
    expect(table.match("POST", "users/remap/bulk").match?.target).toBe("bulk");
    expect(table.match("GET", "sync/status").match?.target).toBe("status");
  });

  it("binds parameters, decoded", () => {
    expect(table.match("POST", "users/o'brien%40contoso.com/sync").match).toEqual({ target: "userSync", params: { objectIdOrUpn: "o'brien@contoso.com" } });
    expect(table.match("GET", "Sync/Runs/abc").match?.params).toEqual({ runId: "abc" });
  });

  it("tells a wrong method from an unknown path", () => {
    expect(table.match("GET", "users/remap")).toEqual({ pathMatched: true });
    expect(table.match("GET", "nothing/here")).toEqual({ pathMatched: false });
    expect(table.match("GET", "sync/runs/a/b")).toEqual({ pathMatched: false });
  });

  it("supports optional parameters", () => {
    expect(table.match("GET", "items").match?.target).toBe("optional");
    expect(table.match("GET", "items/7").match?.params).toEqual({ id: "7" });
  });
});
