"""``joinedup users``: manage users, roles, teams and team memberships."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from joinedup.cli._context import friendly_errors, open_home, out
from joinedup.governance import users as accounts
from joinedup.model import ROLES

users_app = typer.Typer(help="Manage users, roles, teams and assignments.", no_args_is_help=True)


@users_app.command("create")
@friendly_errors
def create(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(r for r in ROLES if r != 'system')}.")],
    org: Annotated[str | None, typer.Option(help="ODS code of the user's organisation.")] = None,
    team: Annotated[list[str] | None, typer.Option(help="Team id (repeat for several).")] = None,
    person_id: Annotated[str | None, typer.Option(help="For a patient: their linked person id.")] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="At least 10 characters.")
    ] = "",
) -> None:
    """Create a user (the password is asked for, never echoed; stored as an Argon2id hash)."""
    home = open_home()
    with home.sessions() as session:
        user = accounts.create_user(
            session,
            username=username,
            password=password,
            role=role,
            org_code=org,
            team_ids=team or [],
            person_id=person_id,
            display_name=name,
        )
        session.commit()
    out.print(f"created {user.username} ({user.role}) with id {user.user_id}")


@users_app.command("list")
@friendly_errors
def list_users() -> None:
    """List users with role, organisation, teams and state."""
    home = open_home()
    with home.sessions() as session:
        users = accounts.list_users(session)
    table = Table(title="users")
    for column in ("username", "role", "organisation", "teams", "state", "2FA"):
        table.add_column(column)
    for user in users:
        state = "locked" if user.locked else ("active" if user.active else "deactivated")
        table.add_row(
            user.username,
            user.role,
            user.org_code or "",
            ", ".join(user.team_ids),
            state,
            "yes" if user.second_factor else "",
        )
    out.print(table)


@users_app.command("unlock")
@friendly_errors
def unlock(username: str) -> None:
    """Clear a lock-out after repeated failed sign-ins."""
    home = open_home()
    with home.sessions() as session:
        accounts.unlock_user(session, username=username)
        session.commit()
    out.print(f"{username} unlocked")


@users_app.command("deactivate")
@friendly_errors
def deactivate(username: str) -> None:
    """Deactivate a leaver (kept, so the audit trail still names them)."""
    home = open_home()
    with home.sessions() as session:
        accounts.set_user_active(session, username=username, active=False)
        session.commit()
    out.print(f"{username} deactivated")


@users_app.command("password")
@friendly_errors
def password(
    username: str,
    new_password: Annotated[str, typer.Option("--password", prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Set a new password (and clear any lock-out)."""
    home = open_home()
    with home.sessions() as session:
        accounts.set_password(session, username=username, password=new_password)
        session.commit()
    out.print(f"password of {username} changed")


@users_app.command("totp")
@friendly_errors
def totp(username: str) -> None:
    """Enrol a TOTP second factor; prints the enrolment URI once (add it to an authenticator app)."""
    from joinedup.governance.totp import provisioning_uri

    home = open_home()
    with home.sessions() as session:
        secret = accounts.enrol_totp(session, username=username)
        session.commit()
    out.print(provisioning_uri(secret, username))


@users_app.command("code")
@friendly_errors
def code(username: str) -> None:
    """Print the user's current authenticator code (for demonstrations and test users only).

    It is computed from the secret in the store: only an operator who can read the store can use
    it, and they could compute it anyway. Real staff use their own authenticator app.
    """
    home = open_home()
    with home.sessions() as session:
        current = accounts.current_totp_code(session, username=username)
    out.print(current)


@users_app.command("team")
@friendly_errors
def team(
    team_id: str,
    name: Annotated[str, typer.Option(help="Team name.")],
    org: Annotated[str | None, typer.Option(help="ODS code of the team's organisation.")] = None,
    kind: Annotated[str, typer.Option(help=", ".join(accounts.TEAM_KINDS))] = "care_team",
) -> None:
    """Create a team (care team, coordination centre, discharge service...)."""
    home = open_home()
    with home.sessions() as session:
        accounts.ensure_team(session, team_id=team_id, name=name, org_code=org, kind=kind)
        session.commit()
    out.print(f"team {team_id} ready")


@users_app.command("add-to-team")
@friendly_errors
def add_to_team(username: str, team_id: str) -> None:
    """Put a user in a team."""
    home = open_home()
    with home.sessions() as session:
        user = accounts.get_user(session, username)
        accounts.add_team_member(session, team_id=team_id, user_id=user.user_id)
        session.commit()
    out.print(f"{username} is in {team_id}")


@users_app.command("remove-from-team")
@friendly_errors
def remove_from_team(username: str, team_id: str) -> None:
    """Take a user out of a team."""
    home = open_home()
    with home.sessions() as session:
        user = accounts.get_user(session, username)
        accounts.remove_team_member(session, team_id=team_id, user_id=user.user_id)
        session.commit()
    out.print(f"{username} is no longer in {team_id}")


def register(app: typer.Typer) -> None:
    """Add the ``users`` command group."""
    app.add_typer(users_app, name="users")
