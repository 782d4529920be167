"""Administration from the shell: `python -m core.admin add-user NAME --name "Full Name" --email EMAIL`."""

from __future__ import annotations

import argparse
import getpass
import sys

from core.config import load_settings
from core.crypto import generate_master_key
from core.errors import AppError
from core.key_rotation import rotate_keys
from core.services import open_services

ROTATION_PROGRESS_EVERY = 100


def _read_password() -> str:
    """From a prompt when interactive, else the first line of standard input."""
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise AppError("The passwords do not match.")
        return password
    return sys.stdin.readline().rstrip("\r\n")


def add_user(args: argparse.Namespace) -> str:
    user = open_services(load_settings()).users.add(args.username, args.name, args.email, _read_password())
    return f"Created user {user.username}."


def list_users(_args: argparse.Namespace) -> str:
    users = open_services(load_settings()).users.list()
    return "\n".join(f"{u.username}\t{u.name}\t{u.email}" for u in users) or "No users yet."


def delete_user(args: argparse.Namespace) -> str:
    if not open_services(load_settings()).users.delete(args.username):
        raise AppError(f"There is no user named {args.username!r}.")
    return f"Deleted user {args.username} and their saved credentials."


def new_master_key(_args: argparse.Namespace) -> str:
    return generate_master_key()


def rotate(_args: argparse.Namespace) -> str:
    services = open_services(load_settings())

    def progress(done: int, total: int) -> None:
        if done % ROTATION_PROGRESS_EVERY == 0 or done == total:
            print(f"re-encrypted {done}/{total}", flush=True)

    report = rotate_keys(services.engine, services.key_ring, progress)
    if report.unreadable:
        raise AppError(report.summary(services.key_ring.current_kid))
    return report.summary(services.key_ring.current_kid)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m core.admin", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add-user", help="create a user; the password is read from standard input")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="full name")
    add.add_argument("--email", required=True)
    add.set_defaults(run=add_user)
    commands.add_parser("list-users", help="list users").set_defaults(run=list_users)
    remove = commands.add_parser("delete-user", help="delete a user and their credentials")
    remove.add_argument("username")
    remove.set_defaults(run=delete_user)
    commands.add_parser("new-master-key", help="print a new random master key").set_defaults(run=new_master_key)
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
