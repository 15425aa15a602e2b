import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  BatchFormatError, boundaryOf, decodeBatchRequest, decodeBatchResponse, encodeBatch, encodeBatchResponse, type BatchRequest, type EncodedResponsePart,
} from "../../shared/dataverse/batch-codec.js";

const ORG = "https://contoso.crm.dynamics.com";
const TASK = "a59c24a2-6e5e-ec11-8f8f-000d3a3b4f50";

// The response of the documented example (execute-batch-operations-using-web-api.md), LF line endings.
const DOC_RESPONSE = `--batchresponse_c1bd45c1-dd81-470d-b897-e965846aad2f
Content-Type: multipart/mixed; boundary=changesetresponse_ff83b4f1-ab48-430c-b81c-926a2c596abc

--changesetresponse_ff83b4f1-ab48-430c-b81c-926a2c596abc
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 1

HTTP/1.1 204 No Content
OData-Version: 4.0
Location: ${ORG}/api/data/v9.2/tasks(${TASK})
OData-EntityId: ${ORG}/api/data/v9.2/tasks(${TASK})


--changesetresponse_ff83b4f1-ab48-430c-b81c-926a2c596abc--
--batchresponse_c1bd45c1-dd81-470d-b897-e965846aad2f
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 200 OK
Content-Type: application/json; odata.metadata=minimal; odata.streaming=true
OData-Version: 4.0

{"@odata.context":"${ORG}/api/data/v9.2/$metadata#tasks(subject)","value":[{"@odata.etag":"W/\\"77180907\\"","subject":"Task 1 in batch","activityid":"${TASK}"}]}
--batchresponse_c1bd45c1-dd81-470d-b897-e965846aad2f--
`;

const LENGTH_ERROR = "A validation error occurred.  The length of the 'subject' attribute of the 'task' entity exceeded the maximum allowed length of '200'.";
const DOC_ERROR_RESPONSE = `--batchresponse_f44bd09d-573f-4a30-bca0-2e500ee7e139
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 400 Bad Request
REQ_ID: 5ecd1cb3-1730-4ffc-909c-d44c22270026
Content-Type: application/json; odata.metadata=minimal
OData-Version: 4.0

{"error":{"code":"0x80044331","message":"${LENGTH_ERROR}"}}
--batchresponse_f44bd09d-573f-4a30-bca0-2e500ee7e139--
`;

describe("decodeBatchResponse", () => {
  it("decodes the documented change set + GET response (LF)", () => {
    const items = decodeBatchResponse("multipart/mixed; boundary=batchresponse_c1bd45c1-dd81-470d-b897-e965846aad2f", DOC_RESPONSE);
    expect(items).toHaveLength(2);
    const [cs, get] = items;
    expect(cs!.kind).toBe("changeset");
    if (cs!.kind !== "changeset") return;
    expect(cs!.responses).toHaveLength(1);
    expect(cs!.responses[0]).toMatchObject({ status: 204, statusText: "No Content", contentId: "1", body: undefined });
    expect(cs!.responses[0]!.headers["odata-entityid"]).toBe(`${ORG}/api/data/v9.2/tasks(${TASK})`);
    expect(get!.kind).toBe("response");
    if (get!.kind !== "response") return;
    expect(get!.response.status).toBe(200);
    expect((get!.response.body as { value: Array<{ subject: string }> }).value[0]!.subject).toBe("Task 1 in batch");
  });

  it("decodes the same response with CRLF line endings and a quoted boundary", () => {
    const crlf = DOC_RESPONSE.replace(/\n/g, "\r\n");
    const items = decodeBatchResponse('multipart/mixed; boundary="batchresponse_c1bd45c1-dd81-470d-b897-e965846aad2f"', crlf);
    expect(items.map((i) => i.kind)).toEqual(["changeset", "response"]);
  });

  it("sniffs the boundary from the first line when the Content-Type lacks it", () => {
    expect(decodeBatchResponse(undefined, DOC_RESPONSE)).toHaveLength(2);
  });

  it("decodes an error part with its Dataverse code", () => {
    const [item] = decodeBatchResponse("multipart/mixed; boundary=batchresponse_f44bd09d-573f-4a30-bca0-2e500ee7e139", DOC_ERROR_RESPONSE);
    expect(item!.kind).toBe("response");
    if (item!.kind !== "response") return;
    expect(item!.response.status).toBe(400);
    expect(item!.response.headers.req_id).toBe("5ecd1cb3-1730-4ffc-909c-d44c22270026");
    expect(item!.response.body).toEqual({ error: { code: "0x80044331", message: LENGTH_ERROR } });
  });

  it("rejects malformed responses with BatchFormatError", () => {
    const ct = "multipart/mixed; boundary=b";
    const cases: Array<[string | undefined, string]> = [
      ["application/json", '{"error":{"code":"","message":"x"}}'],
      [ct, ""],
      [ct, "--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\n"], // truncated: no closing delimiter
      [ct, "--b\r\nContent-Type: application/http\r\n\r\nnot a status line\r\n--b--"],
      [ct, "--b\r\nthis is not a header\r\n\r\nHTTP/1.1 204 No Content\r\n--b--"],
      [ct, "--b\r\nContent-Type: text/plain\r\n\r\nHTTP/1.1 204 No Content\r\n--b--"],
      [ct, "--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 x\r\n"],
    ];
    for (const [type, body] of cases) expect(() => decodeBatchResponse(type, body), body).toThrow(BatchFormatError);
  });

  it("never throws anything but BatchFormatError on arbitrary input", () => {
    const fragments = fc.constantFrom("--b", "--b--", "\r\n", "\n", "Content-Type: application/http", "Content-Type: multipart/mixed; boundary=c", "--c", "--c--", "HTTP/1.1 200 OK", "{", "}", ": ", "x");
    const text = fc.oneof(fc.string(), fc.array(fragments, { maxLength: 40 }).map((a) => a.join("")));
    fc.assert(fc.property(text, (body) => {
      try {
        decodeBatchResponse("multipart/mixed; boundary=b", body);
      } catch (err) {
        expect(err).toBeInstanceOf(BatchFormatError);
      }
    }), { numRuns: 2000 });
  });

  it("finds delimiters only at line starts and only when the boundary is the whole token", () => {
    // `--bb`, `x--b` and `--b` followed by text are content; blanks after a delimiter are allowed (RFC 2046 §5.1.1).
    const body = "preamble --b\n--b \t\nContent-Type: application/http\n\nHTTP/1.1 200 OK\nContent-Type: text/plain\n\nline --b\n--bb\n--b and more\n--b--\r\nepilogue";
    const items = decodeBatchResponse("multipart/mixed; boundary=b", body);
    expect(items).toHaveLength(1);
    expect(items[0]!.kind === "response" && items[0]!.response.body).toBe("line --b\n--bb\n--b and more");
  });

  it("keeps non-JSON bodies as text and tolerates junk around JSON", () => {
    const body = "--b\nContent-Type: application/http\n\nHTTP/1.1 500 Internal Server Error\nContent-Type: application/json\n\nxx {\"error\":{\"code\":\"0x1\",\"message\":\"m\"}} yy\n--b\nContent-Type: application/http\n\nHTTP/1.1 502 Bad Gateway\n\n<html>bad gateway</html>\n--b--\n";
    const items = decodeBatchResponse("multipart/mixed; boundary=b", body);
    expect(items.map((i) => (i.kind === "response" ? i.response.body : null))).toEqual([{ error: { code: "0x1", message: "m" } }, "<html>bad gateway</html>"]);
  });
});

describe("encodeBatch", () => {
  const requests: BatchRequest[] = [
    { method: "POST", url: `${ORG}/api/data/v9.2/systemusers`, headers: { "Content-Type": "application/json; type=entry" }, body: { domainname: "o'brien@contoso.com" } },
    { method: "PATCH", url: `${ORG}/api/data/v9.2/systemusers(${TASK})`, headers: { "If-Match": "*" }, body: { jobtitle: "Engineer" } },
    { method: "GET", url: `${ORG}/api/data/v9.2/WhoAmI` },
  ];

  it("puts every write in its own change set, GETs at top level, CRLF, with Content-IDs", () => {
    const encoded = encodeBatch(requests, { boundary: "batch_x" });
    expect(encoded.contentType).toBe("multipart/mixed; boundary=batch_x");
    expect(encoded.body).not.toMatch(/[^\r]\n/);
    expect(encoded.body.endsWith("--batch_x--\r\n")).toBe(true);
    expect(encoded.body.match(/boundary=changeset_/g)).toHaveLength(2);
    const decoded = decodeBatchRequest(encoded.contentType, encoded.body);
    expect(decoded.map((d) => [d.item, d.inChangeset, d.contentId, d.method])).toEqual([
      [0, true, "1", "POST"], [1, true, "2", "PATCH"], [2, false, undefined, "GET"],
    ]);
    expect(decoded[0]!.body).toEqual({ domainname: "o'brien@contoso.com" });
    expect(decoded[1]!.headers).toMatchObject({ "if-match": "*", "content-type": "application/json" });
    expect(decoded[0]!.url).toBe(`${ORG}/api/data/v9.2/systemusers`);
  });

  it("top-level layout sends plain parts", () => {
    const encoded = encodeBatch(requests, { layout: "top-level" });
    expect(encoded.body).not.toContain("changeset_");
    expect(decodeBatchRequest(encoded.contentType, encoded.body).every((d) => !d.inChangeset)).toBe(true);
  });

  it("parses its own Content-Type boundary", () => {
    expect(boundaryOf(encodeBatch([]).contentType)).toMatch(/^batch_[0-9a-f-]{36}$/);
  });
});

// ---- round trips -----------------------------------------------------------------------------------------

const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,10}$/).map((n) => `X-${n}`);
const headerValue = fc.string({ maxLength: 40 }).map((v) => v.replace(/[\r\n]/g, " ").trim());
const headers = fc.uniqueArray(fc.tuple(headerName, headerValue), { selector: ([n]) => n.toLowerCase(), maxLength: 4 }).map((e) => Object.fromEntries(e));
// What JSON can carry: fc.jsonValue may produce -0, which JSON writes as 0.
const jsonObject = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
  .map((o) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>);

describe("round trips", () => {
  it("decodeBatchResponse(encodeBatchResponse(x)) = x, LF and CRLF", () => {
    const part = fc.record({
      status: fc.integer({ min: 100, max: 599 }),
      statusText: fc.constantFrom("OK", "No Content", "Bad Request", "Too Many Requests", ""),
      headers,
      body: fc.option(jsonObject, { nil: undefined }),
    });
    const item = fc.oneof(
      part.map((response) => ({ kind: "response" as const, response })),
      fc.array(part, { minLength: 1, maxLength: 3 }).map((responses) => ({ kind: "changeset" as const, responses: responses.map((r, i) => ({ ...r, contentId: String(i + 1) })) })),
    );
    fc.assert(fc.property(fc.array(item, { maxLength: 5 }), fc.constantFrom("\r\n" as const, "\n" as const), (items, eol) => {
      const encoded = encodeBatchResponse(items, { eol });
      const decoded = decodeBatchResponse(encoded.contentType, encoded.body);
      const norm = (r: EncodedResponsePart) => ({
        status: r.status,
        statusText: r.statusText ?? "",
        body: r.body,
        headers: Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
        contentId: r.contentId,
      });
      expect(decoded.length).toBe(items.length);
      decoded.forEach((d, i) => {
        const want = items[i]!;
        expect(d.kind).toBe(want.kind);
        const got = d.kind === "response" ? [d.response] : d.responses;
        const exp = want.kind === "response" ? [want.response] : want.responses;
        expect(got.map((g) => ({ ...norm(g), headers: Object.fromEntries(Object.entries(g.headers).filter(([k]) => k.startsWith("x-"))) }))).toEqual(exp.map(norm));
      });
    }), { numRuns: 300 });
  });

  it("decodeBatchRequest(encodeBatch(x)) = x", () => {
    const request = fc.record({
      method: fc.constantFrom("POST", "PATCH", "DELETE", "GET"),
      url: fc.constantFrom(`${ORG}/api/data/v9.2/systemusers`, `/api/data/v9.2/systemusers(${TASK})`, "$1"),
      headers,
      body: fc.option(jsonObject, { nil: undefined }),
    });
    fc.assert(fc.property(fc.array(request, { maxLength: 6 }), fc.constantFrom("changeset-per-request" as const, "top-level" as const), (reqs, layout) => {
      const encoded = encodeBatch(reqs, { layout });
      const decoded = decodeBatchRequest(encoded.contentType, encoded.body);
      expect(decoded.map((d) => ({ method: d.method, url: d.url, body: d.body, item: d.item }))).toEqual(reqs.map((r, item) => ({ method: r.method, url: r.url, body: r.body, item })));
      decoded.forEach((d, i) => {
        for (const [k, v] of Object.entries(reqs[i]!.headers)) expect(d.headers[k.toLowerCase()]).toBe(v);
        expect(d.inChangeset).toBe(layout === "changeset-per-request" && reqs[i]!.method !== "GET");
      });
    }), { numRuns: 300 });
  });
});
