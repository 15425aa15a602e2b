// Entra Connect's source anchor ↔ the AD objectGUID (federation-adfs-telemetry.md §3). With objectGUID as the
// anchor, `onPremisesImmutableId` is base64 of the GUID's 16 bytes in .NET order: the first three fields
// (4, 2 and 2 bytes) little-endian, the last 8 bytes as written. Pure.
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64_RE = /^[A-Za-z0-9+/]{22}==$/;

/** Byte positions of a GUID's hex digits pairs, in .NET byte order (Guid.ToByteArray). */
const DOTNET_ORDER = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];

/** The GUID (lower-case, dashed) an immutable id encodes, or null when it is not 16 bytes of base64 (e.g. another anchor). */
export function guidFromImmutableId(immutableId: string | null | undefined): string | null {
  if (typeof immutableId !== "string" || !BASE64_RE.test(immutableId.trim())) return null;
  const bytes = Buffer.from(immutableId.trim(), "base64");
  if (bytes.length !== 16) return null;
  const hex = DOTNET_ORDER.map((i) => bytes[i]!.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The immutable id Entra Connect writes for an objectGUID. */
export function immutableIdFromGuid(guid: string): string {
  if (!GUID_RE.test(guid)) throw new Error("not a GUID");
  const written = Buffer.from(guid.replace(/-/g, ""), "hex"); // bytes in the order the GUID is written
  const bytes = Buffer.alloc(16);
  DOTNET_ORDER.forEach((from, to) => (bytes[from] = written[to]!));
  return bytes.toString("base64");
}
