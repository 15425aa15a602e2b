"""A Dataverse token from the Identity Bridge with Authlib (client credentials, client_secret_basic), then
Dataverse's WhoAmI with it: the UserId is the caller's OWN application user.

    pip install authlib==1.8.0 requests
    BRIDGE_URL=https://bridge.contoso.com CLIENT_ID=reporting CLIENT_SECRET=... \
      DATAVERSE_ORG=https://contoso.crm.dynamics.com python client_credentials.py

Against a local bridge on plain http, also set AUTHLIB_INSECURE_TRANSPORT=1.
"""
import base64
import json
import os
import sys

import requests
from authlib.integrations.requests_client import OAuth2Session


def main() -> int:
    try:
        bridge, client_id, secret, org = (os.environ[k] for k in ("BRIDGE_URL", "CLIENT_ID", "CLIENT_SECRET", "DATAVERSE_ORG"))
    except KeyError:
        print("set BRIDGE_URL, CLIENT_ID, CLIENT_SECRET and DATAVERSE_ORG", file=sys.stderr)
        return 2
    # RFC 8414 metadata names the token endpoint.
    metadata = requests.get(f"{bridge}/api/.well-known/oauth-authorization-server", timeout=30).json()
    session = OAuth2Session(client_id, secret, token_endpoint_auth_method="client_secret_basic", scope=f"{org}/.default")
    token = session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    who = session.get(f"{org}/api/data/v9.2/WhoAmI", headers={"accept": "application/json"}, timeout=30)
    who.raise_for_status()
    payload = token["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    print(json.dumps({"appid": claims.get("appid"), "userId": who.json()["UserId"], "expiresIn": token.get("expires_in")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
