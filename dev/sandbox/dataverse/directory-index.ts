// Resolves a domainname to a directory user in O(1): an index kept current by the directory's change
// events. Hits are verified against the live user and misses fall back to the directory's own scan, so a
// test that edits a DirectoryUser object in place still gets the right answer.
import type { Directory, DirectoryUser } from "../directory.js";
import { netBiosName } from "../directory.js";

export class DirectoryIndex {
  private readonly byName = new Map<string, string>();
  private readonly keysOf = new Map<string, string[]>();

  constructor(private readonly directory: Directory) {
    for (const user of directory.users.values()) this.reindex(user.id);
    directory.onChange((change) => { if (change.kind === "user") this.reindex(change.id); });
  }

  /** `user@domain` by UPN, `DOMAIN\sam` by on-premises account; only active users. */
  resolve(name: string): DirectoryUser | undefined {
    const key = name.toLowerCase();
    const hinted = this.byName.get(key);
    if (hinted) {
      const user = this.directory.users.get(hinted);
      if (user && user.state === "active" && keysFor(user).includes(key)) return user;
    }
    return name.includes("\\") ? this.directory.findBySam(name) : this.directory.findByUpn(name);
  }

  private reindex(id: string): void {
    for (const key of this.keysOf.get(id) ?? []) if (this.byName.get(key) === id) this.byName.delete(key);
    const user = this.directory.users.get(id);
    if (!user || user.state !== "active") { this.keysOf.delete(id); return; }
    const keys = keysFor(user);
    for (const key of keys) this.byName.set(key, id);
    this.keysOf.set(id, keys);
  }
}

function keysFor(user: DirectoryUser): string[] {
  const keys = [user.userPrincipalName.toLowerCase()];
  if (user.onPremisesSamAccountName && user.onPremisesDomainName) {
    keys.push(`${netBiosName(user.onPremisesDomainName)}\\${user.onPremisesSamAccountName}`.toLowerCase());
  }
  return keys;
}
