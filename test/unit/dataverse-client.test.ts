import { describe, expect, it } from "vitest";
import type { AxiosAdapter, AxiosRequestConfig, AxiosResponse } from "axios";
import { DataverseClient } from "../../shared/dataverse/client.js";
import { decodeBatchRequest, encodeBatchResponse, type EncodedResponsePart } from "../../shared/dataverse/batch-codec.js";
import { OrgThrottle } from "../../shared/dataverse/limiter.js";
import type { SystemUserWrite } from "../../shared/dataverse/types.js";

const ORG = "https://contoso.crm.dynamics.com";
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const update = (n: number): SystemUserWrite => ({ kind: "update", systemUserId: id(n), columns: { jobtitle: `T${n}` } });

type Responder = (config: AxiosRequestConfig, call: number) => { status: number; headers?: Record<string, string>; data?: string };

function make(responder: Responder, options: { batchSize?: number; maxUrlLength?: number } = {}) {
  const sent: AxiosRequestConfig[] = [];
  const sleeps: number[] = [];
  let clock = 0;
  const adapter: AxiosAdapter = async (config) => {
    sent.push(config);
    const r = responder(config, sent.length);
    return { data: r.data ?? "", status: r.status, statusText: "", headers: r.headers ?? {}, config, request: {} } as AxiosResponse;
  };
  const client = new DataverseClient({
    orgUrl: ORG, getToken: async () => "t", adapter, throttle: new OrgThrottle(), batchSize: options.batchSize, maxUrlLength: options.maxUrlLength,
    businessUnitId: id(999), now: () => clock, random: () => 0.5,
    sleep: async (ms) => { sleeps.push(ms); clock += ms; },
  });
  return { client, sent, sleeps };
}

/** Answers each batch part with `answer(request index within batch, decoded request)`. */
function batchResponder(answer: (req: ReturnType<typeof decodeBatchRequest>[number], call: number) => EncodedResponsePart): Responder {
  return (config, call) => {
    const reqs = decodeBatchRequest((config.headers as Record<string, string>)["Content-Type"], config.data as string);
    const encoded = encodeBatchResponse(reqs.map((r) => ({ kind: "changeset" as const, responses: [{ contentId: r.contentId, ...answer(r, call) }] })), { eol: "\n" });
    return { status: 200, headers: { "content-type": encoded.contentType }, data: encoded.body };
  };
}

describe("DataverseClient.applyWrites (scripted network)", () => {
  it("sends each write as its own change set with continue-on-error, If-Match and the BU bind", async () => {
    const { client, sent } = make(batchResponder(() => ({ status: 204, headers: { "OData-EntityId": `${ORG}/api/data/v9.2/systemusers(${id(42)})` } })));
    const results = await client.applyWrites([update(1), { kind: "create", columns: { domainname: "n@contoso.com" } }]);
    expect(sent).toHaveLength(1);
    const headers = sent[0]!.headers as Record<string, string>;
    expect(headers.Prefer).toBe("odata.continue-on-error");
    const reqs = decodeBatchRequest(headers["Content-Type"], sent[0]!.data as string);
    expect(reqs.map((r) => [r.item, r.inChangeset, r.method])).toEqual([[0, true, "PATCH"], [1, true, "POST"]]);
    expect(reqs[0]!.url).toBe(`${ORG}/api/data/v9.2/systemusers(${id(1)})`);
    expect(reqs[0]!.headers["if-match"]).toBe("*");
    expect(reqs[1]!.body).toEqual({ domainname: "n@contoso.com", "businessunitid@odata.bind": `/businessunits(${id(999)})` });
    expect(results[1]).toEqual({ ok: true, status: 204, systemUserId: id(42) });
  });

  it("pairs results by Content-ID even when parts come back reordered", async () => {
    const { client } = make((config) => {
      const reqs = decodeBatchRequest((config.headers as Record<string, string>)["Content-Type"], config.data as string);
      const items = reqs.map((r) => ({ kind: "changeset" as const, responses: [{ contentId: r.contentId, status: r.url.endsWith(`(${id(2)})`) ? 412 : 204, body: r.url.endsWith(`(${id(2)})`) ? { error: { code: "0x80060882", message: "stale" } } : undefined }] })).reverse();
      const encoded = encodeBatchResponse(items);
      return { status: 200, headers: { "content-type": encoded.contentType }, data: encoded.body };
    });
    const results = await client.applyWrites([update(1), update(2), update(3)]);
    expect(results.map((r) => r.status)).toEqual([204, 412, 204]);
    expect(results[1]).toMatchObject({ ok: false, code: "0x80060882", message: "stale" });
  });

  it("splits into batches of batchSize and keeps input order", async () => {
    const { client, sent } = make(batchResponder((r) => ({ status: 204, headers: { "x-url": r.url } })), { batchSize: 2 });
    const results = await client.applyWrites([1, 2, 3, 4, 5].map(update));
    expect(sent).toHaveLength(3);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(client.stats).toMatchObject({ batchedOperations: 5, byKind: { batch: 3 } });
  });

  it("resends only the writes a batch answered 429, after their Retry-After", async () => {
    const { client, sent, sleeps } = make(batchResponder((r, call) => (call === 1 && r.url.endsWith(`(${id(2)})`) ? { status: 429, headers: { "Retry-After": "2" } } : { status: 204 })));
    const results = await client.applyWrites([1, 2, 3].map(update));
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(sent).toHaveLength(2);
    expect(decodeBatchRequest((sent[1]!.headers as Record<string, string>)["Content-Type"], sent[1]!.data as string).map((r) => r.url)).toEqual([`${ORG}/api/data/v9.2/systemusers(${id(2)})`]);
    expect(sleeps).toContain(2000);
    expect(client.stats.throttled).toBe(1);
  });

  it("a malformed or failed batch fails its writes with a clear code, and invalid writes are refused locally", async () => {
    const bad = make(() => ({ status: 200, headers: { "content-type": "multipart/mixed; boundary=b" }, data: "--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204" }));
    expect(await bad.client.applyWrites([update(1)])).toEqual([expect.objectContaining({ ok: false, code: "MalformedBatchResponse" })]);

    const denied = make(() => ({ status: 403, headers: { "content-type": "application/json" }, data: JSON.stringify({ error: { code: "0x80040220", message: "The user does not hold the necessary privileges." } }) }));
    const results = await denied.client.applyWrites([update(1), { kind: "update", systemUserId: "nope", columns: {} }]);
    expect(results[0]).toMatchObject({ ok: false, status: 403, code: "0x80040220" });
    expect(results[1]).toMatchObject({ ok: false, status: 400, code: "InvalidRequest" });
    expect(denied.sent).toHaveLength(1);
  });

  it("marks writes the response left out as not executed", async () => {
    const { client } = make((config) => {
      const encoded = encodeBatchResponse([{ kind: "changeset", responses: [{ contentId: "1", status: 204 }] }]);
      void config;
      return { status: 200, headers: { "content-type": encoded.contentType }, data: encoded.body };
    });
    const results = await client.applyWrites([update(1), update(2)]);
    expect(results.map((r) => [r.ok, r.code])).toEqual([[true, undefined], [false, "NotExecuted"]]);
  });

  it("stops when aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("cancelled"));
    const { client, sent } = make(batchResponder(() => ({ status: 204 })));
    await expect(client.applyWrites([update(1)], { abortSignal: controller.signal })).rejects.toThrow("cancelled");
    expect(sent).toHaveLength(0);
  });
});

describe("DataverseClient reads (scripted network)", () => {
  it("refuses a nextLink pointing at another host, so the token never leaves the org", async () => {
    const { client, sent } = make(() => ({ status: 200, data: JSON.stringify({ value: [{ systemuserid: id(1) }], "@odata.nextLink": "https://evil.example/api/data/v9.2/systemusers?$skiptoken=x" }) }));
    const pages: unknown[] = [];
    await expect((async () => { for await (const p of client.listSystemUsers(["domainname"])) pages.push(p); })()).rejects.toThrow(/another origin/);
    expect(pages).toHaveLength(1);
    expect(sent).toHaveLength(1);
    expect((sent[0]!.headers as Record<string, string>).Prefer).toBe("odata.maxpagesize=5000");
    expect(sent[0]!.url).toBe(`${ORG}/api/data/v9.2/systemusers?$select=domainname%2Csystemuserid`);
  });

  it("a non-JSON page is a DataverseError, not a crash", async () => {
    const { client } = make(() => ({ status: 200, data: "<html>" }));
    await expect(client.getSystemUser(id(1), ["domainname"])).rejects.toMatchObject({ name: "DataverseError", dataverseCode: "MalformedResponse" });
  });

  it("finds users by object ids or domainnames with the In query function, values escaped and deduplicated", async () => {
    const { client, sent } = make(() => ({ status: 200, data: JSON.stringify({ value: [{ systemuserid: id(1), domainname: "o'brien@contoso.com" }] }) }));
    expect(await client.findSystemUsersIn({ objectIds: [], domainNames: [] }, ["domainname"])).toEqual([]);
    expect(sent).toHaveLength(0);
    const found = await client.findSystemUsersIn({ objectIds: [id(1), id(1).toUpperCase(), "x') or true or ('"], domainNames: ["o'brien@contoso.com", "O'Brien@Contoso.com", ""] }, ["domainname"]);
    expect(found).toEqual([{ systemuserid: id(1), domainname: "o'brien@contoso.com" }]);
    expect(sent).toHaveLength(1);
    const url = new URL(sent[0]!.url!);
    expect(url.searchParams.get("$select")).toBe("domainname,systemuserid");
    expect(url.searchParams.get("$filter")).toBe(
      `Microsoft.Dynamics.CRM.In(PropertyName='azureactivedirectoryobjectid',PropertyValues=['${id(1)}'])`
      + ` or Microsoft.Dynamics.CRM.In(PropertyName='domainname',PropertyValues=['o''brien@contoso.com'])`);
  });

  it("splits a long lookup into requests that each fit the URL budget, and merges their rows", async () => {
    const filters: string[] = [];
    const { client, sent } = make((config) => {
      const filter = new URL(config.url!).searchParams.get("$filter")!;
      filters.push(filter);
      // Every chunk answers the same shared row plus one of its own.
      return { status: 200, data: JSON.stringify({ value: [{ systemuserid: id(0) }, { systemuserid: id(filters.length) }] }) };
    }, { maxUrlLength: 12_000 });
    const ids = Array.from({ length: 200 }, (_, i) => id(1000 + i));
    const names = Array.from({ length: 200 }, (_, i) => `first.last.${i}@subsidiary.contoso.com`);
    const found = await client.findSystemUsersIn({ objectIds: ids, domainNames: names }, ["domainname", "azureactivedirectoryobjectid"]);
    expect(sent.length).toBe(2);
    for (const config of sent) expect(config.url!.length).toBeLessThanOrEqual(12_000);
    const asked = filters.join(" ");
    for (const value of [...ids, ...names]) expect(asked).toContain(`'${value}'`);
    expect(found.map((r) => r.systemuserid).sort()).toEqual([id(0), id(1), id(2)]);
  });
});
