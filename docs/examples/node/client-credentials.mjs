// A Dataverse token from the Identity Bridge with openid-client (client credentials, client_secret_basic),
// then Dataverse's WhoAmI with it: the UserId is the caller's OWN application user.
// Run: BRIDGE_URL=https://bridge.contoso.com CLIENT_ID=reporting CLIENT_SECRET=… DATAVERSE_ORG=https://contoso.crm.dynamics.com node client-credentials.mjs
import * as client from "openid-client";

const { BRIDGE_URL, CLIENT_ID, CLIENT_SECRET, DATAVERSE_ORG } = process.env;
if (!BRIDGE_URL || !CLIENT_ID || !CLIENT_SECRET || !DATAVERSE_ORG) {
  console.error("set BRIDGE_URL, CLIENT_ID, CLIENT_SECRET and DATAVERSE_ORG");
  process.exit(2);
}

// RFC 8414 metadata names the token endpoint; plain http is accepted only for a local bridge.
const insecure = new URL(BRIDGE_URL).protocol === "http:" ? { execute: [client.allowInsecureRequests] } : undefined;
const config = await client.discovery(new URL(`${BRIDGE_URL}/api/.well-known/oauth-authorization-server`), CLIENT_ID, CLIENT_SECRET, client.ClientSecretBasic(CLIENT_SECRET), insecure);
const tokens = await client.clientCredentialsGrant(config, { scope: `${DATAVERSE_ORG}/.default` });

const response = await fetch(`${DATAVERSE_ORG}/api/data/v9.2/WhoAmI`, { headers: { authorization: `Bearer ${tokens.access_token}`, accept: "application/json" } });
if (!response.ok) throw new Error(`WhoAmI answered ${response.status}: ${await response.text()}`);
const whoAmI = await response.json();
const appid = JSON.parse(Buffer.from(tokens.access_token.split(".")[1], "base64url").toString()).appid;
console.log(JSON.stringify({ appid, userId: whoAmI.UserId, expiresIn: tokens.expires_in }));
