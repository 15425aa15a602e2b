// RFC 8414 authorization-server metadata for the token endpoint. The bridge has no
// authorization endpoint (server-to-server grants only), so response_types_supported is empty.
import { ASSERTION_ALGORITHMS } from "./client-auth.js";
import { TOKEN_EXCHANGE_GRANT } from "./issue-token.js";

/** Served at GET /api/.well-known/oauth-authorization-server (Functions routes live under /api). */
export const METADATA_ROUTE = ".well-known/oauth-authorization-server";

export function authorizationServerMetadata(origin: string): Record<string, unknown> {
  return {
    issuer: origin,
    token_endpoint: `${origin}/api/token`,
    grant_types_supported: ["client_credentials", TOKEN_EXCHANGE_GRANT],
    token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "private_key_jwt"],
    token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    response_types_supported: [],
    // RFC 8693: the subject token is the caller's Entra access token; the issued one is a Dataverse access token.
    token_exchange_subject_token_types_supported: ["urn:ietf:params:oauth:token-type:access_token"],
  };
}
