import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  AttributeMapError,
  COLUMN_MAX_LENGTH,
  DEFAULT_ATTRIBUTE_MAP,
  graphSelect,
  mapUser,
  parseAttributeMap,
  truncate,
  type AttributeMap,
} from "../../shared/sync/mapping.js";
import type { DirectoryUser } from "../../shared/directory/types.js";

const columnsOf = (map: AttributeMap) => Object.fromEntries(map.entries.map((e) => [e.column, e.sources.map((s) => s.attribute)]));

function problemsOf(json: string): string[] {
  try {
    parseAttributeMap(json);
  } catch (error) {
    expect(error).toBeInstanceOf(AttributeMapError);
    return (error as AttributeMapError).problems;
  }
  throw new Error("expected parseAttributeMap to throw");
}

describe("parseAttributeMap", () => {
  it("returns the contract's default map when unset or blank", () => {
    const expected = {
      firstname: ["givenName"],
      lastname: ["surname"],
      internalemailaddress: ["mail", "userPrincipalName"],
      jobtitle: ["jobTitle"],
      mobilephone: ["mobilePhone"],
    };
    expect(columnsOf(parseAttributeMap(undefined))).toEqual(expected);
    expect(columnsOf(parseAttributeMap("  "))).toEqual(expected);
    expect(parseAttributeMap(undefined)).toBe(DEFAULT_ATTRIBUTE_MAP);
  });

  it("merges overrides over the default: replace, list fallback, null removes, new column adds", () => {
    const map = parseAttributeMap(
      JSON.stringify({ jobtitle: "department", mobilephone: null, internalemailaddress: ["otherMails", "mail"], employeeid: "onPremisesExtensionAttributes.extensionAttribute1" }),
    );
    expect(columnsOf(map)).toEqual({
      firstname: ["givenName"],
      lastname: ["surname"],
      internalemailaddress: ["otherMails", "mail"],
      jobtitle: ["department"],
      employeeid: ["onPremisesExtensionAttributes.extensionAttribute1"],
    });
    for (const entry of map.entries) expect(entry.maxLength).toBe(COLUMN_MAX_LENGTH[entry.column]);
  });

  it.each([
    ["not JSON", "{jobtitle:", /not valid JSON/],
    ["a JSON array", "[]", /must be a JSON object/],
    ["a JSON string", '"jobtitle"', /must be a JSON object/],
    ["null", "null", /must be a JSON object/],
  ])("rejects %s", (_name, json, message) => {
    expect(problemsOf(json)).toEqual([expect.stringMatching(message)]);
  });

  it("names an unknown target column and lists the allowed ones", () => {
    const [problem] = problemsOf('{"department":"department"}');
    expect(problem).toContain('unknown target column "department"');
    expect(problem).toContain("jobtitle");
    expect(problem).not.toMatch(/allowed:.*domainname/);
  });

  it("rejects read-only columns such as azureactivedirectoryobjectid and fullname", () => {
    expect(problemsOf('{"azureactivedirectoryobjectid":"id","fullname":"displayName"}')).toEqual([
      expect.stringContaining('"azureactivedirectoryobjectid"'),
      expect.stringContaining('"fullname"'),
    ]);
  });

  it("hints at the lower-case logical name", () => {
    expect(problemsOf('{"JobTitle":"department"}')[0]).toContain('did you mean "jobtitle"');
  });

  it.each([
    ['{"domainname":"mail"}'],
    ['{"domainname":null}'],
  ])("refuses to override or remove domainname: %s", (json) => {
    expect(problemsOf(json)).toEqual([expect.stringContaining('"domainname" cannot be overridden or removed')]);
  });

  it.each([
    ['{"jobtitle":42}', /"jobtitle": 42 is not a Graph attribute name/],
    ['{"jobtitle":"job title"}', /"jobtitle": "job title" is not a Graph attribute name/],
    ['{"jobtitle":""}', /"jobtitle": "" is not a Graph attribute name/],
    ['{"jobtitle":"a.b.c"}', /"jobtitle": "a.b.c" is not a Graph attribute name/],
    ['{"jobtitle":{"source":"department"}}', /"jobtitle": .* is not a Graph attribute name/],
    ['{"jobtitle":[]}', /"jobtitle": the list of attributes is empty/],
    ['{"jobtitle":["department",7]}', /"jobtitle": 7 is not a Graph attribute name/],
  ])("rejects a bad source %s", (json, message) => {
    expect(problemsOf(json)).toEqual([expect.stringMatching(message)]);
  });

  it("reports every problem at once", () => {
    const problems = problemsOf('{"nope":"x","domainname":"mail","jobtitle":7,"mobilephone":null}');
    expect(problems).toHaveLength(3);
    expect(new AttributeMapError(problems).message).toBe(problems.join("; "));
  });
});

describe("graphSelect", () => {
  it("selects id, accountEnabled, userPrincipalName, displayName (for the report) and the mapped sources for upn", () => {
    expect(graphSelect(DEFAULT_ATTRIBUTE_MAP, "upn").sort()).toEqual(
      ["accountEnabled", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone", "surname", "userPrincipalName"].sort(),
    );
  });

  it("adds the on-premises attributes for sam and selects the top-level of nested sources once", () => {
    const map = parseAttributeMap('{"employeeid":"onPremisesExtensionAttributes.extensionAttribute1","title":"onPremisesExtensionAttributes.extensionAttribute2","mobilephone":null}');
    const select = graphSelect(map, "sam");
    expect(select).toContain("onPremisesSamAccountName");
    expect(select).toContain("onPremisesDomainName");
    expect(select.filter((s) => s === "onPremisesExtensionAttributes")).toHaveLength(1);
    expect(select).not.toContain("mobilePhone");
    expect(new Set(select).size).toBe(select.length);
  });
});

const base: DirectoryUser = {
  id: "11111111-1111-1111-1111-111111111111",
  userPrincipalName: "o'brien@contoso.com",
  accountEnabled: true,
  givenName: "Seán",
  surname: "O'Brien",
  mail: null,
  jobTitle: "Engineer",
  mobilePhone: "+353 1 234 5678",
};

describe("mapUser", () => {
  it("maps the default attributes; mail falls back to the UPN (o'brien)", () => {
    expect(mapUser(base, DEFAULT_ATTRIBUTE_MAP, "upn")).toEqual({
      ok: true,
      warnings: [],
      columns: {
        domainname: "o'brien@contoso.com",
        firstname: "Seán",
        lastname: "O'Brien",
        internalemailaddress: "o'brien@contoso.com",
        jobtitle: "Engineer",
        mobilephone: "+353 1 234 5678",
      },
    });
  });

  it("prefers mail over the UPN, trims values, and maps blank to null", () => {
    const r = mapUser({ ...base, mail: "  sean@contoso.com ", jobTitle: "   ", mobilePhone: "" }, DEFAULT_ATTRIBUTE_MAP, "upn");
    expect(r.ok && r.columns).toMatchObject({ internalemailaddress: "sean@contoso.com", jobtitle: null, mobilephone: null });
  });

  it("leaves out columns whose source was not returned (unknown, never written)", () => {
    const r = mapUser({ id: base.id, givenName: "Ann" }, DEFAULT_ATTRIBUTE_MAP, "upn");
    expect(r).toEqual({ ok: true, warnings: [], columns: { firstname: "Ann" } });
  });

  it("treats a fallback list as unknown when an empty-or-absent earlier source was not returned", () => {
    // mail absent: it may hold a value, so the UPN fallback cannot be chosen.
    const r = mapUser({ id: base.id, userPrincipalName: "a@contoso.com" }, DEFAULT_ATTRIBUTE_MAP, "upn");
    expect(r.ok && r.columns).toEqual({ domainname: "a@contoso.com" });
  });

  it("truncates an over-long value to the column maximum with a warning naming the user and column", () => {
    const r = mapUser({ ...base, jobTitle: "x".repeat(150) }, DEFAULT_ATTRIBUTE_MAP, "upn");
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.columns.jobtitle).toBe("x".repeat(100));
    expect(r.warnings).toEqual([`user ${base.id}: jobtitle truncated from 150 to 100 characters`]);
  });

  it("never splits a surrogate pair when truncating", () => {
    const value = "a".repeat(99) + "😀";
    const r = mapUser({ ...base, jobTitle: value }, DEFAULT_ATTRIBUTE_MAP, "upn");
    expect(r.ok && r.columns.jobtitle).toBe("a".repeat(99));
  });

  it("builds DOMAIN\\sam from the first label of onPremisesDomainName for the sam identity", () => {
    const r = mapUser({ ...base, onPremisesSamAccountName: "obrien", onPremisesDomainName: "corp.contoso.local" }, DEFAULT_ATTRIBUTE_MAP, "sam");
    expect(r.ok && r.columns.domainname).toBe("CORP\\obrien");
  });

  it.each([
    ["no sam account name", { onPremisesSamAccountName: null, onPremisesDomainName: "corp.local" }, /no onPremisesSamAccountName/],
    ["a blank sam account name", { onPremisesSamAccountName: " ", onPremisesDomainName: "corp.local" }, /no onPremisesSamAccountName/],
    ["no domain", { onPremisesSamAccountName: "obrien", onPremisesDomainName: null }, /no onPremisesDomainName/],
    ["a domain without a first label", { onPremisesSamAccountName: "obrien", onPremisesDomainName: ".local" }, /without a first label/],
  ])("cannot map a sam user with %s", (_name, extra, reason) => {
    const r = mapUser({ ...base, ...extra }, DEFAULT_ATTRIBUTE_MAP, "sam");
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(reason);
    expect(!r.ok && r.reason).toContain(base.id);
  });

  it("cannot map a user without a UPN, nor one whose domainname would exceed 1024", () => {
    expect(mapUser({ ...base, userPrincipalName: null }, DEFAULT_ATTRIBUTE_MAP, "upn").ok).toBe(false);
    expect(mapUser({ ...base, userPrincipalName: `${"a".repeat(1020)}@x.com` }, DEFAULT_ATTRIBUTE_MAP, "upn").ok).toBe(false);
  });

  it("leaves domainname unknown when the sam attributes were not returned", () => {
    const r = mapUser({ id: base.id, givenName: "Ann" }, DEFAULT_ATTRIBUTE_MAP, "sam");
    expect(r.ok && r.columns).toEqual({ firstname: "Ann" });
  });

  it("reads nested, multi-valued and scalar sources", () => {
    const map = parseAttributeMap('{"employeeid":"onPremisesExtensionAttributes.extensionAttribute1","homephone":"businessPhones","title":"employeeHireYear","nickname":"onPremisesExtensionAttributes.extensionAttribute9"}');
    const r = mapUser(
      { ...base, onPremisesExtensionAttributes: { extensionAttribute1: " E-42 " }, businessPhones: ["", " +1 555 "], employeeHireYear: 2019 },
      map,
      "upn",
    );
    expect(r.ok && r.columns).toMatchObject({ employeeid: "E-42", homephone: "+1 555", title: "2019", nickname: null });
  });

  it("property: every mapped value is trimmed, non-empty and within the column maximum", () => {
    const value = fc.option(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: "grapheme", maxLength: 150 })), { nil: null });
    fc.assert(
      fc.property(fc.record({ givenName: value, surname: value, mail: value, jobTitle: value, mobilePhone: value, userPrincipalName: value }), (attrs) => {
        const r = mapUser({ id: "u", ...attrs }, DEFAULT_ATTRIBUTE_MAP, "upn");
        if (!r.ok) return;
        for (const [column, v] of Object.entries(r.columns)) {
          if (v === null) continue;
          expect(v.length).toBeGreaterThan(0);
          expect(v).toBe(v.trim());
          expect(v.length).toBeLessThanOrEqual(COLUMN_MAX_LENGTH[column]!);
        }
      }),
    );
  });
});

describe("truncate", () => {
  it("keeps short values and trims a cut that ends in whitespace", () => {
    expect(truncate("abc", 5)).toBe("abc");
    expect(truncate("ab   cdef", 4)).toBe("ab");
  });
});
