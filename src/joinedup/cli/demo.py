"""``joinedup demo``: the whole system end to end on the embedded default (SQLite + DuckDB)."""

from __future__ import annotations

import json
import shutil
import time
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from joinedup.cli._context import Home, console, friendly_errors, open_home, out
from joinedup.cli.serve import run_server
from joinedup.governance.totp import provisioning_uri
from joinedup.operations.demo import STAGES, DemoContext, DemoOptions
from joinedup.settings import load_settings


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command."""

    @app.command()
    @friendly_errors
    def demo(
        people: Annotated[int, typer.Option(min=200, help="People in the synthetic borough.")] = 20_000,
        years: Annotated[int, typer.Option(min=3, max=10, help="Years of history to simulate.")] = 3,
        fresh: Annotated[bool, typer.Option("--fresh", help="Delete the home and start over.")] = False,
        serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the app at the end.")] = True,
        host: Annotated[str, typer.Option(help="Address to serve on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
        as_json: Annotated[bool, typer.Option("--json", help="Print each stage's counts as JSON.")] = False,
    ) -> None:
        """Run joinedup end to end on a synthetic borough: generate, ingest, link, govern, build the
        warehouse, train and score risk, start pathways, plan visits, replay live ADT, then serve.

        Re-running reuses what exists; --fresh starts over; --no-serve stops before serving.
        """
        settings = load_settings()
        if fresh and settings.home.exists():
            shutil.rmtree(settings.home)
        home = open_home(quiet=as_json)
        ctx = DemoContext(settings=home.settings, engine=home.engine,
                          options=DemoOptions(people=people, years=years))
        results: dict[str, dict[str, object]] = {}
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=console, disable=as_json) as progress:
            for name, stage in STAGES:
                task = progress.add_task(name, total=1)
                started = time.perf_counter()
                counts = stage(ctx)
                counts["seconds"] = round(time.perf_counter() - started, 1)
                results[name] = counts
                progress.update(task, completed=1, description=f"{name}: {_brief(counts)}")
        if as_json:
            out.print_json(json.dumps(results, default=str))
        _print_users(ctx, host, port)
        if serve:
            _serve(home, host, port)


def _brief(counts: dict[str, object]) -> str:
    return ", ".join(f"{key} {value}" for key, value in counts.items() if not isinstance(value, dict))


def _print_users(ctx: DemoContext, host: str, port: int) -> None:
    users = ctx.found.get("users", {})
    table = Table(title="demo users (passwords and authenticator keys are kept in demo-users.json in the home)")
    for column in ("sign in as", "password", "role", "authenticator setup key"):
        table.add_column(column)
    for user in users.values():
        table.add_row(user["username"], user["password"], user["role"].replace("_", " "), user.get("totp_secret", ""))
    console.print(table)
    console.print(f"open http://{host}:{port} and sign in as demo-gp (a GP), demo-coordinator (the "
                  "coordination centre), demo-volunteer (discharge support) or demo-patient (the portal)")
    console.print("staff also type a security code: add their setup key to an authenticator app "
                  "(or open their otpauth link below), or run `joinedup users code USERNAME` (demo only)")
    for user in users.values():
        if user.get("totp_secret"):
            console.print(provisioning_uri(user["totp_secret"], user["username"]), highlight=False, soft_wrap=True)


def _serve(home: Home, host: str, port: int) -> None:
    run_server(home, host=host, port=port)
