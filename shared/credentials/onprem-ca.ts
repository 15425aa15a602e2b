// The private certificate authority of on-premises hosts (the AD FS authority, on-premises Dataverse orgs): a PEM
// bundle in Key Vault named by ONPREM_CA_BUNDLE_SECRET_NAME, trusted for connections to those hosts only. Not
// process-wide: NODE_EXTRA_CA_CERTS would make Entra, Graph and Key Vault connections trust it too, and Flex
// Consumption cannot load certificates into the platform's store. The AD FS credential fetches through `fetch`
// (openid-client's customFetch, an undici Agent with the bundle) and on-premises orgs' axios clients use
// `httpsAgent()`; both trust the public roots plus the bundle, and only for the on-premises origins in the
// configuration. A rotated bundle (a new secret version) takes effect at its next read (the secret store's TTL).
import { X509Certificate } from "node:crypto";
import { Agent as HttpsAgent } from "node:https";
import * as tls from "node:tls";
import type { CustomFetch } from "openid-client";
import { Agent as UndiciAgent, fetch as undiciFetch } from "undici";
import type { Config } from "../config/config.js";
import { AppError, describeError } from "../errors/app-error.js";
import type { SecretReader } from "./secret-store.js";

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** TLS verification failures that mean "the server's certificate chains to no CA we trust". */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "UNABLE_TO_GET_ISSUER_CERT", "CERT_UNTRUSTED",
]);

/** The certificates of a CA bundle, each checked; a bundle with none, or with a private key, is refused. */
export function parseCaBundle(pem: string, secretName: string): string[] {
  const where = `the Key Vault secret "${secretName}" (ONPREM_CA_BUNDLE_SECRET_NAME)`;
  if (/PRIVATE KEY-----/.test(pem)) throw new AppError(`${where} holds a private key: a CA bundle holds certificates only`, 503, "onprem_ca_bundle_invalid");
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new AppError(`${where} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`, 503, "onprem_ca_bundle_invalid");
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw new AppError(`${where}: certificate ${i + 1} of ${blocks.length} cannot be read (${describeError(error)})`, 503, "onprem_ca_bundle_invalid");
    }
  });
  return blocks;
}

/** The TLS code when `error` (or a cause of it) is an untrusted server certificate. */
export function untrustedCertificateCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && UNTRUSTED_CERTIFICATE_CODES.has(code)) return code;
  }
  return undefined;
}

/** What an operator does about an untrusted on-premises certificate. */
export function untrustedCertificateHint(origin: string, code: string, bundleConfigured: boolean): string {
  return bundleConfigured
    ? `${origin} presented a certificate that the CA bundle in ONPREM_CA_BUNDLE_SECRET_NAME does not trust (${code}): add its issuing CA (and intermediates) to that secret`
    : `${origin} presented a certificate from a CA that is not trusted (${code}): put its issuing CA's PEM bundle in Key Vault and name the secret in ONPREM_CA_BUNDLE_SECRET_NAME`;
}

interface Built {
  version: string;
  httpsAgent: HttpsAgent;
  dispatcher: UndiciAgent;
}

/** The public roots Node trusts by default (with NODE_EXTRA_CA_CERTS where the runtime reports it), to which the bundle is added. */
function defaultRoots(): readonly string[] {
  const withExtras = (tls as { getCACertificates?: (type: "default") => string[] }).getCACertificates;
  return withExtras ? withExtras("default") : tls.rootCertificates;
}

export class OnPremisesCa {
  private built?: Built;
  private readonly origins: ReadonlySet<string>;

  constructor(private readonly secretName: string | undefined, private readonly secrets: SecretReader, origins: Iterable<string>) {
    this.origins = new Set([...origins].map((o) => new URL(o).origin));
  }

  get configured(): boolean {
    return this.secretName !== undefined;
  }

  /** Reads and checks the bundle now (readiness): how many certificates it holds. */
  async check(abortSignal?: AbortSignal): Promise<number> {
    if (!this.secretName) return 0;
    const secret = await this.secrets.getSecret(this.secretName, { abortSignal });
    return parseCaBundle(secret.value, this.secretName).length;
  }

  /** The https.Agent for an on-premises org's axios client; undefined without a bundle (the default trust). */
  httpsAgent = async (): Promise<HttpsAgent | undefined> => (await this.current())?.httpsAgent;

  /** openid-client's fetch for AD FS: the bundle for the on-premises origins, the default trust for any other. */
  fetch: CustomFetch = async (url, options) => {
    const dispatcher = this.origins.has(new URL(url).origin) ? (await this.current())?.dispatcher : undefined;
    if (!dispatcher) return fetch(url, options as RequestInit);
    return undiciFetch(url, { ...options, dispatcher } as Parameters<typeof undiciFetch>[1]) as unknown as Response;
  };

  private async current(): Promise<Built | undefined> {
    if (!this.secretName) return undefined;
    const secret = await this.secrets.getSecret(this.secretName);
    if (this.built?.version === secret.version) return this.built;
    const ca = [...defaultRoots(), ...parseCaBundle(secret.value, this.secretName)];
    const previous = this.built;
    this.built = { version: secret.version, httpsAgent: new HttpsAgent({ ca, keepAlive: true }), dispatcher: new UndiciAgent({ connect: { ca } }) };
    // Connections of the rotated-out bundle close; requests in flight on them finish first (undici) or fail over (axios retries).
    previous?.httpsAgent.destroy();
    void previous?.dispatcher.close().catch(() => undefined);
    return this.built;
  }
}

/** The bridge's on-premises CA trust: the origins of every on-premises org and its AD FS authority. */
export function createOnPremisesCa(config: Pick<Config, "onPremisesCaBundleSecretName" | "orgs">, secrets: SecretReader): OnPremisesCa {
  const origins = config.orgs.filter((o) => o.kind === "onpremises").flatMap((o) => [o.url, ...(o.adfs ? [o.adfs.authority] : [])]);
  return new OnPremisesCa(config.onPremisesCaBundleSecretName, secrets, origins);
}
