"""A minimal, real OpenID Connect provider for tests, in the shape of NHS Care Identity Service 2.

Discovery, authorize (approves the configured user at once and redirects back with a code), token
(checks the client secret, the code, the redirect URI and the PKCE verifier; returns an RS256 ID
token signed with a key generated for the run) and JWKS. ``provider.tamper`` bends one thing of
the next answer, to prove the relying party notices: ``{"nonce": ...}``, ``{"aud": ...}``,
``{"exp_offset": -3600}``, ``{"state": ...}``, ``{"username": ...}``, ``{"sign_with": <other key>}``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Header, Query
from fastapi.responses import JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "joinedup-test"
CLIENT_SECRET = "test-client-secret-not-for-production"


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


@dataclass
class IdentityProvider:
    """The provider's state: its key, the user it approves, codes issued, and any tampering asked for."""

    issuer: str = ""
    username: str = "gp1"
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "test-key-1"}))
    tamper: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    token_requests: int = 0

    def id_token(self, grant: dict[str, str], access_token: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": f"cis2-{grant['username']}",
            "aud": self.tamper.get("aud", CLIENT_ID),
            "iat": now,
            "exp": now + 300 + int(self.tamper.get("exp_offset", 0)),
            "nonce": self.tamper.get("nonce", grant["nonce"]),
            "preferred_username": grant["username"],
            "email": f"{grant['username']}@nhs.test",
            "acr": "AAL3_ANY",
        }
        key = self.tamper.get("sign_with", self.key)
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key, algorithms=["RS256"])


def build_provider_app(provider: IdentityProvider) -> FastAPI:
    """The provider's HTTP endpoints over ``provider``."""
    app = FastAPI()

    @app.get("/.well-known/openid-configuration")
    def discovery() -> dict[str, Any]:
        return {
            "issuer": provider.issuer,
            "authorization_endpoint": f"{provider.issuer}/authorize",
            "token_endpoint": f"{provider.issuer}/token",
            "jwks_uri": f"{provider.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }

    @app.get("/jwks")
    def jwks() -> dict[str, Any]:
        return KeySet([provider.key]).as_dict(private=False)

    @app.get("/authorize")
    def authorize(
        client_id: Annotated[str, Query()], redirect_uri: Annotated[str, Query()],
        response_type: Annotated[str, Query()],
        scope: Annotated[str, Query()], state: Annotated[str, Query()], nonce: Annotated[str, Query()],
        code_challenge: Annotated[str, Query()], code_challenge_method: Annotated[str, Query()],
    ) -> Response:
        if client_id != CLIENT_ID or response_type != "code" or code_challenge_method != "S256":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        if "openid" not in scope.split():
            return JSONResponse({"error": "invalid_scope"}, status_code=400)
        code = secrets.token_urlsafe(16)
        provider.codes[code] = {"nonce": nonce, "code_challenge": code_challenge, "redirect_uri": redirect_uri,
                                "username": provider.tamper.get("username", provider.username)}
        answer = urlencode({"code": code, "state": provider.tamper.get("state", state)})
        return RedirectResponse(f"{redirect_uri}?{answer}", status_code=302)

    @app.post("/token")
    def token(
        grant_type: Annotated[str, Form()], code: Annotated[str, Form()], redirect_uri: Annotated[str, Form()],
        code_verifier: Annotated[str, Form()], authorization: Annotated[str, Header()] = "",
    ) -> Response:
        provider.token_requests += 1
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != expected:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = provider.codes.pop(code, None)
        if grant_type != "authorization_code" or grant is None or grant["redirect_uri"] != redirect_uri:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if _s256(code_verifier) != grant["code_challenge"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, status_code=400)
        access_token = secrets.token_urlsafe(24)
        return JSONResponse({"access_token": access_token, "token_type": "Bearer", "expires_in": 300,
                             "id_token": provider.id_token(grant, access_token)})

    return app
