import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { guidFromImmutableId, immutableIdFromGuid } from "../../shared/directory/immutable-id.js";

describe("onPremisesImmutableId ↔ AD objectGUID", () => {
  it("decodes .NET byte order (first three fields little-endian)", () => {
    // Guid("00112233-4455-6677-8899-aabbccddeeff").ToByteArray() = 33 22 11 00 55 44 77 66 88 99 aa bb cc dd ee ff
    const bytes = Buffer.from("33221100554477668899aabbccddeeff", "hex").toString("base64");
    expect(guidFromImmutableId(bytes)).toBe("00112233-4455-6677-8899-aabbccddeeff");
    expect(immutableIdFromGuid("00112233-4455-6677-8899-AABBCCDDEEFF")).toBe(bytes);
  });

  it("a published example: objectGUID 95b6b7d3-5f8e-4c1b-9a5a-1d0a6b0c2f7e", () => {
    // [Convert]::ToBase64String(([guid]"95b6b7d3-5f8e-4c1b-9a5a-1d0a6b0c2f7e").ToByteArray())
    const bytes = Buffer.from([0xd3, 0xb7, 0xb6, 0x95, 0x8e, 0x5f, 0x1b, 0x4c, 0x9a, 0x5a, 0x1d, 0x0a, 0x6b, 0x0c, 0x2f, 0x7e]).toString("base64");
    expect(immutableIdFromGuid("95b6b7d3-5f8e-4c1b-9a5a-1d0a6b0c2f7e")).toBe(bytes);
  });

  it("round-trips every GUID", () => {
    fc.assert(fc.property(fc.uuid(), (guid) => guidFromImmutableId(immutableIdFromGuid(guid)) === guid.toLowerCase()));
  });

  it("answers null for anchors that are not a GUID (mS-DS-ConsistencyGuid text, empty, wrong length)", () => {
    for (const value of [null, undefined, "", "abc", Buffer.from("short").toString("base64"), Buffer.alloc(17).toString("base64"), "not base64 at all!!!!!=="]) {
      expect(guidFromImmutableId(value)).toBeNull();
    }
    expect(() => immutableIdFromGuid("nope")).toThrow();
  });
});
