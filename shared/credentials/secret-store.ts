// Key Vault secrets for every credential the bridge holds. Cached in memory with a TTL (Key Vault's own
// throttling guidance), concurrent reads of one secret share one request, and a secret that stopped
// working is invalidated and re-read (rotation).
import type { AbortSignalLike } from "@azure/abort-controller";
import { SecretClient } from "@azure/keyvault-secrets";
import { isRestError } from "@azure/core-rest-pipeline";
import type { TokenCredential } from "@azure/identity";
import type { Config } from "../config/config.js";
import { AppError } from "../errors/app-error.js";
import { describePlatformIdentity } from "./platform-identity.js";

export interface SecretValue {
  value: string;
  version: string;
  contentType?: string;
}

export interface SecretReader {
  getSecret(name: string, options?: { abortSignal?: AbortSignalLike }): Promise<SecretValue>;
  invalidate(name: string): void;
}

interface CacheEntry {
  expiresAt: number;
  value?: SecretValue;
  pending?: Promise<SecretValue>;
}

export interface SecretStoreOptions {
  client: Pick<SecretClient, "getSecret">;
  vaultUrl: string;
  ttlMs?: number;
  now?: () => number;
  describeIdentity?: () => string;
}

export class SecretStore implements SecretReader {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly options: SecretStoreOptions) {
    this.ttlMs = options.ttlMs ?? 10 * 60_000;
    this.now = options.now ?? Date.now;
  }

  async getSecret(name: string, options: { abortSignal?: AbortSignalLike } = {}): Promise<SecretValue> {
    const entry = this.cache.get(name);
    if (entry?.value && entry.expiresAt > this.now()) return entry.value;
    if (entry?.pending) return entry.pending;
    const pending = this.fetch(name, options.abortSignal);
    this.cache.set(name, { expiresAt: 0, value: entry?.value, pending });
    try {
      const value = await pending;
      this.cache.set(name, { value, expiresAt: this.now() + this.ttlMs });
      return value;
    } catch (error) {
      this.cache.delete(name);
      throw error;
    }
  }

  invalidate(name: string): void {
    this.cache.delete(name);
  }

  private async fetch(name: string, abortSignal?: AbortSignalLike): Promise<SecretValue> {
    try {
      const secret = await this.options.client.getSecret(name, { abortSignal });
      // A blank credential would match a blank password: refuse it at load, whoever reads it.
      if (secret.value === undefined || secret.value.trim() === "") {
        throw new AppError(`Key Vault secret "${name}" is empty or blank; store the real credential`, 503, "secret_blank");
      }
      return { value: secret.value, version: secret.properties.version ?? "", contentType: secret.properties.contentType };
    } catch (error) {
      throw this.explain(name, error);
    }
  }

  private explain(name: string, error: unknown): unknown {
    if (!isRestError(error)) return error;
    const vault = this.options.vaultUrl;
    if (error.statusCode === 403) {
      const who = this.options.describeIdentity?.() ?? "the bridge's identity";
      return new AppError(
        `Key Vault denied reading secret "${name}": ${who} lacks the "Key Vault Secrets User" role on vault ${vault} ` +
          `(grant it with: az role assignment create --role "Key Vault Secrets User" --assignee <principal id> --scope <vault resource id>)`,
        503, "key_vault_forbidden", { cause: error },
      );
    }
    if (error.statusCode === 404) {
      return new AppError(`Key Vault secret "${name}" was not found in vault ${vault}`, 503, "key_vault_secret_not_found", { cause: error });
    }
    return new AppError(`Key Vault read of secret "${name}" from ${vault} failed (${error.statusCode ?? error.code})`, 503, "key_vault_unavailable", { cause: error });
  }
}

/** A secret store over the configured vault, read with the platform identity. */
export function createSecretStore(config: Config, platform: TokenCredential): SecretStore {
  const client = new SecretClient(config.keyVaultUrl, platform, {
    // A loopback emulator cannot lie under the challenge's resource host; a real vault can and must.
    disableChallengeResourceVerification: !config.isRealVaultDomain,
  });
  return new SecretStore({ client, vaultUrl: config.keyVaultUrl, describeIdentity: () => describePlatformIdentity(config) });
}
