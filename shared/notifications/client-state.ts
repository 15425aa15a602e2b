// The subscriptions' clientState authenticates every notification: compared in constant time over SHA-256
// digests, so neither the content nor the length of the secret leaks through timing.
import { createHash, timingSafeEqual } from "node:crypto";

const digest = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest();

export function clientStateMatches(expected: string, received: unknown): boolean {
  if (typeof received !== "string" || expected === "") return false;
  return timingSafeEqual(digest(expected), digest(received));
}

/** A stable, non-reversible fingerprint of the clientState a subscription was created with (rotation check). */
export function clientStateFingerprint(value: string): string {
  return digest(`identity-bridge:client-state:${value}`).toString("base64url").slice(0, 22);
}
