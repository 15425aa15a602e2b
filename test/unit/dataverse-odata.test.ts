import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { and, eq, guidLiteral, identifier, literal, ODataLiteralError, queryString, selectList, stringLiteral } from "../../shared/dataverse/odata.js";

/** Reads one OData string literal starting at `text[0]`, returning the value and the rest. */
function readStringLiteral(text: string): { value: string; rest: string } {
  expect(text[0]).toBe("'");
  let value = "";
  let i = 1;
  for (;;) {
    if (i >= text.length) throw new Error("unterminated literal");
    if (text[i] === "'") {
      if (text[i + 1] === "'") { value += "'"; i += 2; continue; }
      return { value, rest: text.slice(i + 1) };
    }
    value += text[i++];
  }
}

describe("OData literals", () => {
  it("quotes strings and doubles single quotes", () => {
    expect(stringLiteral("o'brien")).toBe("'o''brien'");
    expect(stringLiteral("")).toBe("''");
    expect(stringLiteral("''")).toBe("''''''");
  });

  it("keeps injection attempts inside the literal", () => {
    const attack = "x' or domainname ne 'y";
    const clause = eq("domainname", attack);
    expect(clause).toBe("domainname eq 'x'' or domainname ne ''y'");
    const { value, rest } = readStringLiteral(clause.slice("domainname eq ".length));
    expect(value).toBe(attack);
    expect(rest).toBe("");
  });

  it("any string survives a round trip through the literal, with nothing after it", () => {
    fc.assert(fc.property(fc.string({ unit: "binary" }), (s) => {
      const { value, rest } = readStringLiteral(stringLiteral(s));
      expect(value).toBe(s);
      expect(rest).toBe("");
    }));
  });

  it("validates GUIDs and leaves them unquoted", () => {
    expect(guidLiteral("0B6F0F0E-1D2C-4A5B-9C8D-7E6F5A4B3C2D")).toBe("0b6f0f0e-1d2c-4a5b-9c8d-7e6f5a4b3c2d");
    expect(eq("azureactivedirectoryobjectid", { guid: "0b6f0f0e-1d2c-4a5b-9c8d-7e6f5a4b3c2d" })).toBe("azureactivedirectoryobjectid eq 0b6f0f0e-1d2c-4a5b-9c8d-7e6f5a4b3c2d");
    for (const bad of ["", "not-a-guid", "0b6f0f0e-1d2c-4a5b-9c8d-7e6f5a4b3c2d or 1 eq 1", "'0b6f0f0e-1d2c-4a5b-9c8d-7e6f5a4b3c2d'"]) {
      expect(() => guidLiteral(bad)).toThrow(ODataLiteralError);
    }
  });

  it("renders other literals and refuses non-finite numbers", () => {
    expect(literal(null)).toBe("null");
    expect(literal(true)).toBe("true");
    expect(literal(3)).toBe("3");
    expect(() => literal(Number.NaN)).toThrow(ODataLiteralError);
  });

  it("refuses column names that are not identifiers", () => {
    expect(identifier("domainname")).toBe("domainname");
    for (const bad of ["", "domainname eq 'x' or 1", "a,b", "x)", "1abc"]) expect(() => identifier(bad)).toThrow(ODataLiteralError);
    expect(() => eq("x or true", "y")).toThrow(ODataLiteralError);
  });

  it("combines clauses with parentheses", () => {
    expect(and(eq("a", 1), eq("b", "c"))).toBe("(a eq 1) and (b eq 'c')");
  });
});

describe("query strings", () => {
  it("percent-encodes values so & # + and % cannot break the query", () => {
    const q = queryString({ $select: "domainname", $filter: eq("domainname", "a&b=c#d+e%f o'brien") });
    expect(q.startsWith("?$select=domainname&$filter=")).toBe(true);
    const params = new URLSearchParams(q.replace(/\+/g, "%2B"));
    expect(params.get("$filter")).toBe("domainname eq 'a&b=c#d+e%f o''brien'");
    expect([...params.keys()]).toEqual(["$select", "$filter"]);
  });

  it("skips undefined options and adds the key to $select once", () => {
    expect(queryString({ $select: "a", $filter: undefined })).toBe("?$select=a");
    expect(queryString({})).toBe("");
    expect(selectList(["domainname", "systemuserid"], "systemuserid")).toBe("domainname,systemuserid");
    expect(selectList(["domainname"], "systemuserid")).toBe("domainname,systemuserid");
  });
});
