"""The web fixtures of ``tests/web/conftest.py`` (a seeded home, the app, clients), reused here.

Re-declared by import so that pytest gives this package its own instances: security tests that
write (a passport with hostile text, a user enrolled in TOTP) do not touch the web tests' store.
"""

from web.conftest import app, client, signed_in, web_home

__all__ = ["app", "client", "signed_in", "web_home"]
