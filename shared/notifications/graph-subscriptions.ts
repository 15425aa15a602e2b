// Graph's subscription API (/v1.0/subscriptions) behind a small port, through the Graph SDK as the directory
// port is. A subscription Graph no longer has (404) reads as null, so callers can recreate it.
import {
  AuthenticationHandler,
  Client,
  GraphError,
  HTTPMessageHandler,
  RetryHandler,
  RetryHandlerOptions,
  TelemetryHandler,
} from "@microsoft/microsoft-graph-client";
import { TokenCredentialAuthenticationProvider } from "@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js";
import type { TokenCredential } from "@azure/identity";
import { AppError } from "../errors/app-error.js";

export interface GraphSubscriptionInfo {
  id: string;
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl?: string | null;
  expirationDateTime: string;
}

export interface NewSubscription {
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string;
  clientState: string;
  expirationDateTime: string;
}

export interface SubscriptionsPort {
  create(input: NewSubscription): Promise<GraphSubscriptionInfo>;
  /** Extends the expiry (and reauthorizes); null when Graph no longer has the subscription. */
  renew(id: string, expirationDateTime: string): Promise<GraphSubscriptionInfo | null>;
  get(id: string): Promise<GraphSubscriptionInfo | null>;
  list(): Promise<GraphSubscriptionInfo[]>;
  /** Succeeds when the subscription is already gone. */
  delete(id: string): Promise<void>;
}

function info(raw: GraphSubscriptionInfo & Record<string, unknown>): GraphSubscriptionInfo {
  // Keep only what we use: the response echoes clientState, which must not travel further.
  return {
    id: raw.id, resource: raw.resource, changeType: raw.changeType, notificationUrl: raw.notificationUrl,
    lifecycleNotificationUrl: raw.lifecycleNotificationUrl ?? null, expirationDateTime: raw.expirationDateTime,
  };
}

export class GraphSubscriptions implements SubscriptionsPort {
  private readonly client: Client;
  private readonly root: string;

  constructor(options: { baseUrl: string; credential: TokenCredential; maxRetries?: number }) {
    const base = options.baseUrl.replace(/\/+$/, "");
    this.root = `${base}/v1.0/subscriptions`;
    const authProvider = new TokenCredentialAuthenticationProvider(options.credential, { scopes: [`${base}/.default`] });
    this.client = Client.initWithMiddleware({
      baseUrl: `${base}/`,
      defaultVersion: "v1.0",
      middleware: [
        new AuthenticationHandler(authProvider),
        new RetryHandler(new RetryHandlerOptions(3, options.maxRetries ?? 5)),
        new TelemetryHandler(),
        new HTTPMessageHandler(),
      ],
      customHosts: new Set([new URL(base).hostname]),
    });
  }

  async create(input: NewSubscription): Promise<GraphSubscriptionInfo> {
    return info(await this.call("POST", this.root, () => this.client.api(this.root).post({ ...input, latestSupportedTlsVersion: "v1_2" })));
  }

  async renew(id: string, expirationDateTime: string): Promise<GraphSubscriptionInfo | null> {
    const url = `${this.root}/${encodeURIComponent(id)}`;
    return this.orNull(async () => info(await this.call("PATCH", url, () => this.client.api(url).patch({ expirationDateTime }))));
  }

  async get(id: string): Promise<GraphSubscriptionInfo | null> {
    const url = `${this.root}/${encodeURIComponent(id)}`;
    return this.orNull(async () => info(await this.call("GET", url, () => this.client.api(url).get())));
  }

  async list(): Promise<GraphSubscriptionInfo[]> {
    const page = await this.call("GET", this.root, () => this.client.api(this.root).get()) as { value: Array<GraphSubscriptionInfo & Record<string, unknown>> };
    return page.value.map(info);
  }

  async delete(id: string): Promise<void> {
    const url = `${this.root}/${encodeURIComponent(id)}`;
    await this.orNull(() => this.call("DELETE", url, () => this.client.api(url).delete()));
  }

  private async orNull<T>(work: () => Promise<T>): Promise<T | null> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof GraphError && error.statusCode === 404) return null;
      throw error;
    }
  }

  private async call<T>(method: string, url: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof GraphError) throw error;
      throw new AppError(`Microsoft Graph request failed: ${method} ${new URL(url).pathname}`, 502, "graph_unavailable", { cause: error });
    }
  }
}
