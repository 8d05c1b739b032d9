"""joinedup's settings: one ``Settings`` object, built at start-up and passed down.

Read from the environment (prefix ``JOINEDUP_``). Secrets (the session key that signs cookies and
the pseudonymisation key that keys HMAC pseudonyms) are generated on first run and kept in
``$JOINEDUP_HOME/secrets/`` with file mode 0600; they are never logged or printed. The OpenID
Connect client secret, which the identity provider issues, is read from the environment or from
``$JOINEDUP_HOME/secrets/oidc_client_secret`` (put there with mode 0600) and is never logged either.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_NAMES = ("session_key", "pseudonymisation_key", "audit_checkpoint_key")
OIDC_CLIENT_SECRET_FILE = "oidc_client_secret"  # noqa: S105 (a file name, not a secret)


class SmartClient(BaseModel):
    """An app registered for the SMART on FHIR authorisation-code flow: its id and exact redirect URIs."""

    client_id: str
    name: str
    redirect_uris: list[str]


class Settings(BaseSettings):
    """Where joinedup keeps its data, and how to reach its databases."""

    model_config = SettingsConfigDict(env_prefix="JOINEDUP_", extra="ignore")

    home: Path = Path("joinedup-data")
    database_url: str | None = None
    warehouse: Path | None = None
    spark_master: str = "local[2]"
    # Sign-in and search throttles (ASVS 2.2.1), per web process unless rate_limit_storage is shared:
    # sign-in attempts (form and token endpoint) per client address and, separately, per username;
    # patient searches (page, JSON API, FHIR Patient search) per signed-in user.
    sign_in_attempts_per_minute: int = 10
    searches_per_minute: int = 60
    # Where the counters live: "memory://" (this process) or a shared store the ``limits`` package
    # knows ("redis://host:6379", "memcached://host:11211") when several workers serve the app.
    rate_limit_storage: str = "memory://"
    # Staff (every role but patient) must sign in with a TOTP code; those not enrolled enrol at sign-in.
    require_staff_totp: bool = True

    # OpenID Connect single sign-on for staff (NHS CIS2 style). Off unless issuer and client id are
    # set. The claim named here must equal an active joinedup username: governance still decides.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_username_claim: str = "preferred_username"
    oidc_scope: str = "openid profile email"
    oidc_provider_name: str = "NHS Care Identity"
    # The callback URL registered with the provider; by default this server's /sign-in/oidc/callback.
    oidc_redirect_uri: str | None = None
    oidc_token_auth_method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"  # noqa: S105

    # Apps allowed to use SMART on FHIR's authorisation-code flow (JSON list in JOINEDUP_SMART_CLIENTS).
    smart_clients: list[SmartClient] = []

    @property
    def oidc_enabled(self) -> bool:
        """Whether staff may sign in through the OpenID Connect provider."""
        return bool(self.oidc_issuer and self.oidc_client_id)

    def oidc_secret(self) -> SecretStr | None:
        """The OpenID Connect client secret: the environment's, else the file in the secrets folder."""
        if self.oidc_client_secret is not None:
            return self.oidc_client_secret
        path = self.home / "secrets" / OIDC_CLIENT_SECRET_FILE
        return SecretStr(path.read_text().strip()) if path.exists() else None

    def smart_client(self, client_id: str) -> SmartClient | None:
        """The registered SMART app with this client id, if any."""
        return next((client for client in self.smart_clients if client.client_id == client_id), None)

    @property
    def resolved_database_url(self) -> str:
        """The operational store's URL: the configured one, or a SQLite file in the home."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'joinedup.sqlite').resolve()}"

    @property
    def warehouse_path(self) -> Path:
        """The DuckDB file that holds the warehouse."""
        return self.warehouse or self.home / "warehouse.duckdb"

    def secret(self, name: str) -> SecretStr:
        """Return the named secret, generating and storing it (mode 0600) on first use."""
        if name not in SECRET_NAMES:
            raise KeyError(f"unknown secret {name!r}; known: {', '.join(SECRET_NAMES)}")
        folder = self.home / "secrets"
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        path = folder / name
        if not path.exists():
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
        return SecretStr(path.read_text().strip())


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with explicit overrides (tests, CLI flags)."""
    settings = Settings(**overrides)  # type: ignore[arg-type]
    settings.home.mkdir(parents=True, exist_ok=True)
    return settings
