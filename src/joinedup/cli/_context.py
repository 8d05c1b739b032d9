"""What every command needs: the settings, an up-to-date store, and one-line errors."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from joinedup.errors import JoinedUpError
from joinedup.settings import Settings, load_settings
from joinedup.store import make_engine, make_session_factory, upgrade_store

console = Console(stderr=True)
out = Console()

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Home:
    """An opened joinedup home: settings, the store's engine and a session factory."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]


def open_home(*, quiet: bool = False) -> Home:
    """Load settings, open the store and upgrade its schema, telling the user when it does."""
    settings = load_settings()
    engine = make_engine(settings.resolved_database_url)
    applied = upgrade_store(engine)
    if applied and not quiet:
        console.print(f"[dim]store schema upgraded: {', '.join(applied)}[/dim]")
    return Home(settings=settings, engine=engine, sessions=make_session_factory(engine))


def _fit_to_terminal() -> None:
    """Re-read the terminal width (``COLUMNS``) as a command starts: the consoles are made once at
    import, and a long-lived process (a test run, a shell) may run commands in different widths."""
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() else None
    for terminal in (console, out):
        terminal.width = width  # type: ignore[assignment]  # None means: measure the terminal


def friendly_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn joinedup's own errors into one line on stderr and exit code 1, not a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        _fit_to_terminal()
        try:
            return command(*args, **kwargs)
        except JoinedUpError as exc:
            console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=1) from exc

    return wrapper
