"""private_key_jwt with authlib (RFC 7523), a third-party OAuth client, for
the integration test private_key_jwt::authlib_private_key_jwt_gets_a_token.

Usage: authlib_client.py TOKEN_URL CLIENT_ID PRIVATE_KEY_PEM SCOPE

Prints one JSON line for a token fetched with authlib's PrivateKeyJWT, then
one for the same assertion sent again (it must be refused).
"""
import json
import sys
import time

from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc7523.assertion import private_key_jwt_sign
import requests

token_url, client_id, key_file, scope = sys.argv[1:5]
with open(key_file) as f:
    private_key = f.read()

# authlib signs a one-hour assertion unless told otherwise; Portcullis
# takes at most five minutes.
now = int(time.time())
auth = PrivateKeyJWT(token_url, alg="ES256", claims={"exp": now + 60})
session = OAuth2Session(client_id, private_key, token_endpoint_auth_method="private_key_jwt", scope=scope)
session.register_client_auth_method(auth)
token = session.fetch_token(token_url, grant_type="client_credentials")
print(json.dumps(dict(token)))

# The same assertion (same jti) a second time.
assertion = private_key_jwt_sign(private_key, client_id, token_url, alg="ES256",
                                 claims={"exp": now + 60, "jti": "fixed-jti-for-replay"})
for _ in range(2):
    res = requests.post(token_url, data={
        "grant_type": "client_credentials", "scope": scope,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    })
print(json.dumps({"status": res.status_code, **res.json()}))
