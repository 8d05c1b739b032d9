"""The relying party of OpenID Connect single sign-on (NHS Care Identity Service 2 style).

Authorisation-code flow with PKCE (S256), scopes ``openid profile email`` by default. The provider's
discovery document (``<issuer>/.well-known/openid-configuration``) names its endpoints and JWKS.
The ID token must be signed RS256 by a key in the JWKS and carry our ``iss``, our client id as
``aud``, an unexpired ``exp`` and the ``nonce`` of this sign-in; the ``state`` returned must be the
one we sent. Built on Authlib (PKCE, grant URI, the OpenID ``CodeIDToken`` claim checks, including
``at_hash`` and ``azp``) and joserfc (JWS/JWK, Authlib's JOSE implementation).

Proving who the person is stops here; whether they may come in, and as what, is governance's
decision (``joinedup.governance.federation``).
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from joinedup.errors import JoinedUpError
from joinedup.settings import Settings

logger = logging.getLogger(__name__)

ID_TOKEN_ALGORITHMS = ("RS256",)
PROVIDER_TIMEOUT_SECONDS = 10.0
# Clock difference tolerated between us and the provider when checking exp and iat.
CLOCK_LEEWAY_SECONDS = 60


class SingleSignOnFailed(JoinedUpError):
    """The provider's answer cannot be trusted; ``reason_code`` says why (for logs, never shown raw)."""

    def __init__(self, reason_code: str) -> None:
        super().__init__(reason_code)
        self.reason_code = reason_code


@dataclass(frozen=True)
class SignInRequest:
    """What one sign-in sent to the provider and must find again in its answer."""

    state: str
    nonce: str
    code_verifier: str

    def as_session(self) -> dict[str, str]:
        """For the signed session cookie until the provider sends the user back."""
        return {"state": self.state, "nonce": self.nonce, "code_verifier": self.code_verifier}


class OpenIdProvider:
    """One configured provider: discovery and keys fetched on first use and kept (keys re-fetched on rotation)."""

    def __init__(self, settings: Settings) -> None:
        if not settings.oidc_issuer or not settings.oidc_client_id:
            raise ValueError("OpenID Connect is not configured (oidc_issuer and oidc_client_id)")
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self.scope = settings.oidc_scope
        self.name = settings.oidc_provider_name
        self.username_claim = settings.oidc_username_claim
        self._settings = settings
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=PROVIDER_TIMEOUT_SECONDS)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SingleSignOnFailed("provider_unreachable") from exc
        if not isinstance(body, dict):
            raise SingleSignOnFailed("provider_answer_malformed")
        return body

    def metadata(self) -> dict[str, Any]:
        """The discovery document; its ``issuer`` must be the configured one (OpenID Discovery §4.3)."""
        if self._metadata is None:
            found = self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            if str(found.get("issuer", "")).rstrip("/") != self.issuer:
                raise SingleSignOnFailed("discovery_issuer_mismatch")
            self._metadata = found
        return self._metadata

    def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            self._keys = KeySet.import_key_set(self._get_json(str(self.metadata()["jwks_uri"])))  # type: ignore[arg-type]
        return self._keys

    def start_sign_in(self, redirect_uri: str) -> tuple[str, SignInRequest]:
        """The provider's authorisation URL for a new sign-in, and what to keep until it answers."""
        sign_in = SignInRequest(state=generate_token(32), nonce=generate_token(32), code_verifier=generate_token(64))
        url = prepare_grant_uri(
            self.metadata()["authorization_endpoint"], self.client_id, "code", redirect_uri=redirect_uri,
            scope=self.scope, state=sign_in.state, nonce=sign_in.nonce,
            code_challenge=create_s256_code_challenge(sign_in.code_verifier), code_challenge_method="S256",
        )
        return str(url), sign_in

    def identify(self, *, sent: SignInRequest, returned_state: str, code: str, redirect_uri: str) -> str:
        """Check the provider's answer and return the username claim of the person it identified.

        Raises:
            SingleSignOnFailed: state mismatch, token request refused, or an ID token that fails a check.
        """
        if not returned_state or not hmac.compare_digest(returned_state, sent.state):
            raise SingleSignOnFailed("state_mismatch")
        tokens = self._exchange_code(code, redirect_uri, sent.code_verifier)
        claims = self._verified_claims(tokens, nonce=sent.nonce)
        username = claims.get(self.username_claim)
        if not isinstance(username, str) or not username.strip():
            raise SingleSignOnFailed("username_claim_missing")
        return username.strip()

    def _exchange_code(self, code: str, redirect_uri: str, code_verifier: str) -> dict[str, Any]:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": code_verifier, "client_id": self.client_id}
        secret = self._settings.oidc_secret()
        auth: tuple[str, str] | None = None
        if secret is not None and self._settings.oidc_token_auth_method == "client_secret_post":  # noqa: S105
            form["client_secret"] = secret.get_secret_value()
        elif secret is not None:
            auth = (self.client_id, secret.get_secret_value())
        try:
            response = httpx.post(str(self.metadata()["token_endpoint"]), data=form, auth=auth,
                                  timeout=PROVIDER_TIMEOUT_SECONDS, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise SingleSignOnFailed("provider_unreachable") from exc
        if response.status_code != 200:
            raise SingleSignOnFailed("token_request_refused")
        tokens = response.json()
        if not isinstance(tokens, dict) or not isinstance(tokens.get("id_token"), str):
            raise SingleSignOnFailed("no_id_token")
        return tokens

    def _verified_claims(self, tokens: dict[str, Any], *, nonce: str) -> CodeIDToken:
        id_token = tokens["id_token"]
        try:
            try:
                token = jwt.decode(id_token, self._key_set(), algorithms=ID_TOKEN_ALGORITHMS)
            except JoseError:
                # The provider may have rotated its keys since we fetched them: fetch once more.
                token = jwt.decode(id_token, self._key_set(refresh=True), algorithms=ID_TOKEN_ALGORITHMS)
            expected = {
                "iss": {"essential": True, "value": str(self.metadata()["issuer"])},
                "aud": {"essential": True, "value": self.client_id},
                "exp": {"essential": True},
                "nonce": {"essential": True},
            }
            checks = {"nonce": nonce, "client_id": self.client_id, "access_token": tokens.get("access_token")}
            claims = CodeIDToken(token.claims, token.header, expected, checks)
            claims.validate(leeway=CLOCK_LEEWAY_SECONDS)
        except JoseError as exc:
            reason = f"id_token_{getattr(exc, 'error', 'invalid')}"
            claim = getattr(exc, "claim", None)
            raise SingleSignOnFailed(f"{reason}:{claim}" if claim else reason) from exc
        return claims


__all__ = ["OpenIdProvider", "SignInRequest", "SingleSignOnFailed"]
