"""joinedup's settings: one ``Settings`` object, built at start-up and passed down.

Read from the environment (prefix ``JOINEDUP_``). Secrets (the session key that signs cookies and
the pseudonymisation key that keys HMAC pseudonyms) are generated on first run and kept in
``$JOINEDUP_HOME/secrets/`` with file mode 0600; they are never logged or printed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_NAMES = ("session_key", "pseudonymisation_key", "audit_checkpoint_key")


class Settings(BaseSettings):
    """Where joinedup keeps its data, and how to reach its databases."""

    model_config = SettingsConfigDict(env_prefix="JOINEDUP_", extra="ignore")

    home: Path = Path("joinedup-data")
    database_url: str | None = None
    warehouse: Path | None = None
    spark_master: str = "local[2]"

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
