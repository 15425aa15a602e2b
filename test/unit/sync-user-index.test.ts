import { describe, expect, it } from "vitest";
import { DEFAULT_ATTRIBUTE_MAP, parseAttributeMap } from "../../shared/sync/mapping.js";
import { buildUserIndex, indexSelect, isProtected, packValues, unpackValues, UserIndex } from "../../shared/sync/user-index.js";
import type { SystemUser } from "../../shared/dataverse/types.js";

const row = (id: string, over: Partial<SystemUser> = {}): SystemUser => ({
  systemuserid: id,
  azureactivedirectoryobjectid: `${id}-oid`,
  domainname: `${id}@contoso.com`,
  isdisabled: false,
  accessmode: 0,
  applicationid: null,
  firstname: "F",
  ...over,
});

describe("UserIndex", () => {
  it("selects the identity, state and mapped columns only", () => {
    const map = parseAttributeMap('{"employeeid":"employeeId","mobilephone":null}');
    expect(indexSelect(map).sort()).toEqual(
      ["accessmode", "applicationid", "azureactivedirectoryobjectid", "domainname", "employeeid", "firstname", "internalemailaddress", "isdisabled", "jobtitle", "lastname", "systemuserid"].sort(),
    );
  });

  it("indexes pages by id, lower-cased object id and case-insensitive domainname, keeping only mapped columns", () => {
    const index = buildUserIndex(DEFAULT_ATTRIBUTE_MAP, [
      [row("A1", { azureactivedirectoryobjectid: "AAAA-OID", domainname: "Ann@Contoso.com", fullname: "Ann X", jobtitle: "CEO" })],
      [row("b2", { isdisabled: true })],
    ]);
    expect(index.size).toBe(2);
    const ann = index.byObjectId("aaaa-oid")!;
    expect(ann).toBe(index.get("a1"));
    expect(index.holdersOf(" ann@CONTOSO.com ")).toEqual([ann]);
    expect(index.value(ann, "jobtitle")).toBe("CEO");
    expect(index.value(ann, "fullname")).toBeUndefined();
    expect(Object.keys(ann).sort()).toEqual(["accessMode", "applicationId", "disabled", "domainName", "objectId", "systemUserId", "values"]);
    expect(unpackValues(ann.values, index.columns.length)).toHaveLength(DEFAULT_ATTRIBUTE_MAP.entries.length);
    expect(index.get("b2")!.disabled).toBe(true);
  });

  it("replaces a row read twice (overlapping pages) without leaving stale keys", () => {
    const index = new UserIndex(DEFAULT_ATTRIBUTE_MAP);
    index.addPage([row("a", { domainname: "old@x.com", azureactivedirectoryobjectid: "o1" })]);
    index.addPage([row("a", { domainname: "new@x.com", azureactivedirectoryobjectid: "o2" })]);
    expect(index.size).toBe(1);
    expect(index.holdersOf("old@x.com")).toEqual([]);
    expect(index.byObjectId("o1")).toBeUndefined();
    expect(index.byObjectId("o2")?.domainName).toBe("new@x.com");
  });

  it("keeps every holder of a shared domainname and updates them as names move", () => {
    const index = buildUserIndex(DEFAULT_ATTRIBUTE_MAP, [[row("a", { domainname: "x@c.com" }), row("b", { domainname: "X@c.com" }), row("c", { domainname: "x@c.com" })]]);
    expect(index.holdersOf("x@c.com").map((u) => u.systemUserId)).toEqual(["a", "b", "c"]);
    index.setDomainName(index.get("b")!, "y@c.com");
    index.setValue(index.get("c")!, "domainname", null);
    expect(index.holdersOf("x@c.com").map((u) => u.systemUserId)).toEqual(["a"]);
    expect(index.holdersOf("y@c.com").map((u) => u.systemUserId)).toEqual(["b"]);
  });

  it.each([
    [{ applicationid: "cccccccc-0000-0000-0000-000000000003" }, true],
    [{ accessmode: 3 }, true],
    [{ accessmode: 4 }, true],
    [{ accessmode: 5 }, true],
    [{ accessmode: 0 }, false],
    [{ accessmode: 1 }, false],
    [{ accessmode: 2 }, false],
    [{ applicationid: "00000000-0000-0000-0000-000000000000" }, false],
  ])("isProtected(%o) = %s", (over, expected) => {
    const index = buildUserIndex(DEFAULT_ATTRIBUTE_MAP, [[row("a", over)]]);
    expect(isProtected(index.get("a")!)).toBe(expected);
  });

  it("packs a record's mapped values into one string and reads back every value, null, empty and odd one", () => {
    const odd = ["", null, "Ann \u00e9\u4e2d\ud83d\ude00", " spaced ", "x,y;z|\\"];
    const packed = packValues(odd);
    expect(typeof packed).toBe("string");
    expect(unpackValues(packed, odd.length)).toEqual(odd);
    // Values holding the markers themselves stay an array (nothing is lost or misread).
    for (const marker of ["a\u001fb", "\u0000"]) {
      const values = ["F", marker, null, "J", "M"];
      expect(Array.isArray(packValues(values))).toBe(true);
      const index = buildUserIndex(DEFAULT_ATTRIBUTE_MAP, [[row("c3", { firstname: "F", internalemailaddress: marker, jobtitle: "J", mobilephone: "M" })]]);
      const record = index.get("c3")!;
      expect(index.value(record, "internalemailaddress")).toBe(marker);
      index.setValue(record, "jobtitle", null);
      expect([index.value(record, "jobtitle"), index.value(record, "mobilephone"), index.value(record, "internalemailaddress")]).toEqual([null, "M", marker]);
    }
    const index = buildUserIndex(DEFAULT_ATTRIBUTE_MAP, [[row("d4", { firstname: "Dee", lastname: null, jobtitle: "CTO" })]]);
    const record = index.get("d4")!;
    expect(typeof record.values).toBe("string");
    index.setValue(record, "lastname", "Dot");
    index.setValue(record, "firstname", null);
    expect(index.columns.map((c) => index.value(record, c))).toEqual(index.columns.map((c) => ({ firstname: null, lastname: "Dot", jobtitle: "CTO" } as Record<string, string | null>)[c] ?? null));
    expect(index.value(record, "employeeid")).toBeUndefined();
  });

  it("counts managed and enabled managed users for the threshold", () => {
    const index = buildUserIndex(DEFAULT_ATTRIBUTE_MAP, [[
      row("a"),
      row("b", { isdisabled: true }),
      row("c", { accessmode: 4 }),
      row("d", { applicationid: "cccccccc-0000-0000-0000-000000000003" }),
    ]]);
    expect(index.stats()).toEqual({ total: 4, protected: 2, managed: 2, managedEnabled: 1 });
  });
});
