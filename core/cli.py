"""Administration from the shell: `python -m core.cli add-user NAME --name "Full Name" --email EMAIL`, API tokens
(`create-token NAME --name N [--expires-days D]`, `list-tokens NAME`, `revoke-token NAME ID`).

Every command says which database it worked on, so a command run with other settings than the app's (another
APP_DATA_DIR or DATABASE_URL) is noticed at once.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from core.accounts.users import UserPublic
from core.config import load_settings
from core.credentials.rotation import rotate_keys
from core.db.engine import describe_database, make_engine
from core.db.migrate import migrate
from core.db.types import utcnow
from core.errors import AppError
from core.security.crypto import generate_master_key
from core.security.keys import generate_token_key
from core.security.shared import generate_secret
from core.services import Services, open_services

ROTATION_PROGRESS_EVERY = 100


def _read_password() -> str:
    """From a prompt when interactive, else the first line of standard input."""
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise AppError("The passwords do not match.")
        return password
    return sys.stdin.readline().rstrip("\r\n")


def _services() -> Services:
    return open_services(load_settings())


def _where(services: Services) -> str:
    """The database, as `in /path/app.db` (a server URL without its password)."""
    return f"in {describe_database(services.settings.database_url)}"


def add_user(args: argparse.Namespace) -> str:
    services = _services()
    user = services.users.add(args.username, args.name, args.email, _read_password())
    return f"Created user {user.username} {_where(services)}."


def list_users(_args: argparse.Namespace) -> str:
    services = _services()
    lines = [f"{u.username}\t{u.name}\t{u.email}" + ("\tdisabled" if u.disabled else "") for u in services.users.list()]
    return "\n".join([*lines, f"({len(lines)} user{'s' * (len(lines) != 1)} {_where(services)})"])


def delete_user(args: argparse.Namespace) -> str:
    services = _services()
    if not services.users.delete(args.username):
        raise AppError(f"There is no user named {args.username!r} {_where(services)}.")
    return f"Deleted user {args.username}, their saved credentials, chats and sessions {_where(services)}."


def set_password(args: argparse.Namespace) -> str:
    services = _services()
    user, ended = services.accounts.reset_password(args.username, _read_password())
    return f"Set a new password for {user.username} {_where(services)}; ended {ended} sign-in session(s)."


def disable_user(args: argparse.Namespace) -> str:
    services = _services()
    user, ended = services.accounts.set_disabled(args.username, True)
    return (
        f"Disabled {user.username} {_where(services)}: they cannot sign in; ended {ended} sign-in session(s). "
        "Their keys and chats are kept (enable-user lets them back in)."
    )


def enable_user(args: argparse.Namespace) -> str:
    services = _services()
    user, _ = services.accounts.set_disabled(args.username, False)
    return f"Enabled {user.username} {_where(services)}: they can sign in again."


def end_sessions(args: argparse.Namespace) -> str:
    services = _services()
    user = _user(services, args.username)
    ended = services.sessions.end_all(user.id)
    return f"Ended {ended} sign-in session(s) of {user.username}: every browser of theirs must sign in again."


def migrate_database(_args: argparse.Namespace) -> str:
    settings = load_settings()
    engine = make_engine(settings.database_url, upgrade=False)
    try:
        migration = migrate(engine)
    finally:
        engine.dispose()
    return f"{migration.summary()} in {describe_database(settings.database_url)}."


def new_master_key(_args: argparse.Namespace) -> str:
    return generate_master_key()


def new_secret(_args: argparse.Namespace) -> str:
    return generate_secret()


def new_token_key(_args: argparse.Namespace) -> str:
    return generate_token_key()


def _user(services: Services, username: str) -> UserPublic:
    user = services.users.get(username)
    if user is None:
        raise AppError(f"There is no user named {username!r} {_where(services)}.")
    return user


def create_token(args: argparse.Namespace) -> str:
    services = _services()
    user = _user(services, args.username)
    token, secret = services.tokens.create(user.id, args.name, args.expires_days)
    until = f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else "never expires"
    return (
        f"Created API token {token.id} ({token.name!r}, {until}) for {user.username} {_where(services)}.\n"
        f"It is shown only this once; send it as 'Authorization: Bearer <token>':\n{secret}"
    )


def list_tokens(args: argparse.Namespace) -> str:
    services = _services()
    user = _user(services, args.username)
    now = utcnow()
    lines = [
        "\t".join(
            (
                str(token.id),
                token.name,
                token.masked,
                f"created {token.created_at:%Y-%m-%d %H:%M}",
                f"last used {token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never used",
                ("expired " if token.expired(now) else "expires ") + f"{token.expires_at:%Y-%m-%d %H:%M}"
                if token.expires_at
                else "no expiry",
            )
        )
        for token in services.tokens.list(user.id)
    ]
    count = f"{len(lines)} API token{'s' * (len(lines) != 1)}"
    return "\n".join([*lines, f"({count} of {user.username} {_where(services)}; times in UTC)"])


def revoke_token(args: argparse.Namespace) -> str:
    services = _services()
    user = _user(services, args.username)
    if not services.tokens.revoke(user.id, args.token_id):
        raise AppError(f"{user.username} has no API token {args.token_id} {_where(services)} (see list-tokens).")
    return f"Revoked API token {args.token_id} of {user.username} {_where(services)}: it stops working at once."


def rotate(_args: argparse.Namespace) -> str:
    services = _services()

    def progress(done: int, total: int) -> None:
        if done % ROTATION_PROGRESS_EVERY == 0 or done == total:
            print(f"re-encrypted {done}/{total}", flush=True)

    report = rotate_keys(services.engine, services.key_ring, progress)
    if report.unreadable:
        raise AppError(report.summary(services.key_ring.current_kid))
    return report.summary(services.key_ring.current_kid)


def _user_command(commands, name: str, help_text: str, run) -> None:
    command = commands.add_parser(name, help=help_text)
    command.add_argument("username")
    command.set_defaults(run=run)


def _token_commands(commands) -> None:
    create = commands.add_parser("create-token", help="create an API token for a user and print it (shown once)")
    create.add_argument("username")
    create.add_argument("--name", required=True, help="what the token is for, e.g. the script that uses it")
    create.add_argument("--expires-days", type=int, default=None, help="days until it expires (default: never)")
    create.set_defaults(run=create_token)
    _user_command(commands, "list-tokens", "list a user's API tokens (masked)", list_tokens)
    revoke = commands.add_parser("revoke-token", help="revoke one of a user's API tokens (see list-tokens)")
    revoke.add_argument("username")
    revoke.add_argument("token_id", type=int)
    revoke.set_defaults(run=revoke_token)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m core.cli", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add-user", help="create a user; the password is read from standard input")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="full name")
    add.add_argument("--email", required=True)
    add.set_defaults(run=add_user)
    commands.add_parser("list-users", help="list users").set_defaults(run=list_users)
    _user_command(commands, "delete-user", "delete a user with their credentials, chats and sessions", delete_user)
    _user_command(commands, "set-password", "reset a password (read from standard input); ends sessions", set_password)
    _user_command(commands, "disable-user", "stop a user signing in (keys and chats kept); ends sessions", disable_user)
    _user_command(commands, "enable-user", "let a disabled user sign in again", enable_user)
    _user_command(commands, "end-sessions", "sign a user out of every browser", end_sessions)
    commands.add_parser(
        "migrate", help="bring the database schema to this version (the app also does it at start, under a lock)"
    ).set_defaults(run=migrate_database)
    _token_commands(commands)
    commands.add_parser("new-master-key", help="print a new random master key").set_defaults(run=new_master_key)
    commands.add_parser("new-token-key", help="print a new random APP_TOKEN_KEY").set_defaults(run=new_token_key)
    commands.add_parser(
        "new-secret", help="print a new random secret (STREAMLIT_SERVER_COOKIE_SECRET, a database password)"
    ).set_defaults(run=new_secret)
    commands.add_parser(
        "rotate-keys",
        help="re-encrypt every credential under the newest key in APP_MASTER_KEY (resumable; then drop old keys)",
    ).set_defaults(run=rotate)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        print(args.run(args))
    except AppError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
