"""`stopframe serve` and `stopframe registry ...`: run and operate the registry service.

Exit codes: 0 success, 1 audit chain broken, backup or restore failed or database unreachable,
2 bad arguments or the registry extra not installed.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from stopframe.cli.extras import require_extra
from stopframe.cli.settings import command_settings
from stopframe.config import RegistrySettings

if TYPE_CHECKING:
    from stopframe.apps.registry.state import Registry

registry_app = typer.Typer(
    help="Operate the hash registry: migrations, keys, audit, backups, imports.",
    no_args_is_help=True,
)


@registry_app.callback()
def _needs_registry_extra() -> None:
    """Every registry command needs the registry extra; say so in one line when it is missing."""
    require_extra("registry", "stopframe registry")


@contextmanager
def _registry_opens() -> Iterator[None]:
    """Turn a database that cannot be opened or reached (exit 1), or signing keys that cannot be
    used as configured (`STOPFRAME_SIGNING_KEY` disagreeing with the data dir: exit 2), into one
    line on stderr."""
    from stopframe.apps.registry.db import DatabaseUnavailable
    from stopframe.lists.signing import SigningKeyError

    try:
        yield
    except DatabaseUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except SigningKeyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@contextmanager
def _opened_registry(settings: RegistrySettings) -> Iterator[Registry]:
    """The registry for one command (a database that cannot be reached is one line and exit 1),
    its connections closed when the command is done."""
    from stopframe.apps.registry.state import open_registry

    with _registry_opens():
        reg = open_registry(settings)
    try:
        yield reg
    finally:
        reg.db.dispose()


def is_loopback(host: str) -> bool:
    """True when `host` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _settings(data_dir: Path | None, database_url: str | None) -> RegistrySettings:
    """The registry section of the settings, with what the command line gave in place."""
    settings = command_settings().registry
    overrides = {k: v for k, v in (("data_dir", data_dir), ("database_url", database_url)) if v}
    return settings.model_copy(update=overrides)


DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Default: $STOPFRAME_DATA_DIR or ./data")
]
DbUrl = Annotated[
    str | None, typer.Option("--database-url", help="Default: $STOPFRAME_DATABASE_URL")
]


def serve(
    data_dir: DataDir = None,
    database_url: DbUrl = None,
    host: Annotated[str | None, typer.Option(help="Default 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="Default 8750")] = None,
    page: Annotated[
        bool, typer.Option("--page/--no-page", help="Serve the victim's page at / (default on)")
    ] = True,
    exit_url: Annotated[
        str | None,
        typer.Option(
            "--exit-url", help="Where the page's quick exit leaves to (default: a blank page)"
        ),
    ] = None,
) -> None:
    """Run the registry HTTP service (migrates the database first), with the page at /."""
    require_extra("registry", "stopframe serve")
    from stopframe.apps.intake.site import DEFAULT_EXIT_URL, page_app
    from stopframe.apps.registry.server import serve as run

    settings = _settings(data_dir, database_url)
    if host:
        settings.host = host
    if port:
        settings.port = port
    try:
        front = page_app(exit_url=exit_url or DEFAULT_EXIT_URL) if page else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if not is_loopback(settings.host):
        typer.echo(
            f"warning: serving plain HTTP without TLS on {settings.host}; put the registry "
            "behind an HTTPS reverse proxy",
            err=True,
        )
    with _registry_opens():
        run(settings, front=front)


@registry_app.command()
def migrate(data_dir: DataDir = None, database_url: DbUrl = None) -> None:
    """Bring the database to the newest schema."""
    from stopframe.apps.registry.db import open_database
    from stopframe.apps.registry.migrate import upgrade
    from stopframe.apps.registry.state import private_data_dir

    settings = _settings(data_dir, database_url)
    private_data_dir(settings.data_dir)
    with _registry_opens():
        db = open_database(settings.resolved_database_url)
    upgrade(db.writer)
    db.dispose()
    typer.echo("database is at the newest schema")


@registry_app.command("create-key")
def create_key(
    scope: Annotated[list[str], typer.Option("--scope", help="submit, read, report, admin")],
    name: Annotated[str, typer.Option(help="Label for the operator")] = "cli",
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Create an API key (e.g. the first admin key) and print it once."""
    from stopframe.apps.registry.routes.api_keys import key_created
    from stopframe.apps.registry.services import keys
    from stopframe.apps.registry.terms import Scope

    try:
        scopes = [Scope(s) for s in scope]
    except ValueError:
        typer.echo(f"unknown scope in {scope}; use submit, read, report or admin", err=True)
        raise typer.Exit(2) from None
    with _opened_registry(_settings(data_dir, database_url)) as reg, reg.db.write() as session:
        created = keys.create_key(session, name, scopes, "cli")
    typer.echo(json.dumps(key_created(created).model_dump(mode="json"), indent=1))


@registry_app.command("create-bank")
def create_bank(
    name: Annotated[str, typer.Argument(help="Bank name: lowercase letters, digits, . _ -")],
    kind: Annotated[
        list[str],
        typer.Option("--kind", help="A signal type it holds (repeat); see `stopframe signals`."),
    ],
    threshold: Annotated[
        int | None, typer.Option(help="Match distance (default: the kinds' own).")
    ] = None,
    action: Annotated[str, typer.Option(help="Suggested action: block, review or log.")] = "review",
    verified: Annotated[bool, typer.Option(help="Entries were verified by the operator.")] = False,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Create a bank; the change is audited like one made over the API."""
    from stopframe.apps.registry.services import banks
    from stopframe.apps.registry.terms import SuggestedAction
    from stopframe.errors import ServiceError

    try:
        suggested = SuggestedAction(action)
    except ValueError:
        raise typer.BadParameter(f"action must be block, review or log, not {action!r}") from None
    try:
        with _opened_registry(_settings(data_dir, database_url)) as reg, reg.db.write() as session:
            bank = banks.create_bank(
                session,
                name,
                kind,
                "cli",
                distance_threshold=threshold,
                verified=verified,
                action=suggested,
            )
            created = {
                "name": bank.name,
                "kinds": bank.kind_names,
                "distance_threshold": bank.distance_threshold,
                "action": bank.action,
            }
    except ServiceError as exc:
        typer.echo(f"bank not created: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(created, indent=1))


def _print_table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    """Print rows as a rich table, 120 columns wide when not on a terminal."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console(width=None if sys.stdout.isatty() else 120).print(table)


AsJson = Annotated[bool, typer.Option("--json", help="Print JSON, as the HTTP API answers.")]

bank_app = typer.Typer(help="The banks entries are kept in.", no_args_is_help=True)
registry_app.add_typer(bank_app, name="bank")


@bank_app.command("list")
def bank_list(
    as_json: AsJson = False, data_dir: DataDir = None, database_url: DbUrl = None
) -> None:
    """Every bank: kinds, distance threshold, suggested action and active entries."""
    from stopframe.apps.registry.routes.banks import bank_out
    from stopframe.apps.registry.services import banks

    with _opened_registry(_settings(data_dir, database_url)) as reg, reg.db.read() as session:
        listed = [bank_out(session, b) for b in banks.list_banks(session)]
    if as_json:
        typer.echo(json.dumps([b.model_dump(mode="json") for b in listed], indent=1))
        return
    _print_table(
        f"{len(listed)} bank(s)",
        ["name", "kinds", "threshold", "action", "verified", "active entries"],
        [
            [
                b.name,
                ",".join(b.kinds),
                str(b.distance_threshold),
                b.action.value,
                "yes" if b.verified else "no",
                str(b.entries_active),
            ]
            for b in listed
        ],
    )


key_app = typer.Typer(
    help="API keys: list and revoke (never shows a key itself).", no_args_is_help=True
)
registry_app.add_typer(key_app, name="key")


@key_app.command("list")
def key_list(as_json: AsJson = False, data_dir: DataDir = None, database_url: DbUrl = None) -> None:
    """Every API key's id, name, scopes, creation and revocation time; never the key itself."""
    from stopframe.apps.registry.routes.api_keys import key_out
    from stopframe.apps.registry.services import keys

    with _opened_registry(_settings(data_dir, database_url)) as reg, reg.db.read() as session:
        listed = [key_out(k) for k in keys.list_keys(session)]
    if as_json:
        typer.echo(json.dumps([k.model_dump(mode="json") for k in listed], indent=1))
        return
    _print_table(
        f"{len(listed)} key(s), {sum(k.revoked_at is None for k in listed)} active",
        ["key id", "name", "scopes", "created", "revoked"],
        [
            [
                k.key_id,
                k.name,
                ",".join(s.value for s in k.scopes),
                k.created_at.isoformat()[:19],
                k.revoked_at.isoformat()[:19] if k.revoked_at else "",
            ]
            for k in listed
        ],
    )


@key_app.command("revoke")
def key_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id, as `key list` shows it.")],
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Revoke an API key at once; audited like a revocation over the API (repeating is harmless)."""
    from stopframe.apps.registry.routes.api_keys import key_out
    from stopframe.apps.registry.services import keys
    from stopframe.errors import ServiceError

    try:
        with _opened_registry(_settings(data_dir, database_url)) as reg, reg.db.write() as session:
            revoked = key_out(keys.revoke(session, key_id, "cli"))
    except ServiceError as exc:
        typer.echo(f"nothing revoked: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(revoked.model_dump(mode="json"), indent=1))


@registry_app.command("rotate-signing-key")
def rotate_signing_key(data_dir: DataDir = None, database_url: DbUrl = None) -> None:
    """Add a new list-signing key and make it current: a running registry signs with it at once,
    old keys stay published and each names the next in a signed rotation statement. Audited."""
    from stopframe.apps.registry import audit
    from stopframe.lists.signing import SigningKeyError, rotate

    settings = _settings(data_dir, database_url)
    try:
        with _opened_registry(settings) as reg, reg.db.write() as session:
            previous = reg.keyring.published()[-1]["key_id"]
            current = rotate(settings.signing_dir, settings.signing_key).published()[-1]
            audit.record(session, "cli", "signing_key.rotate", current["key_id"], previous=previous)
    except SigningKeyError as exc:
        typer.echo(f"nothing rotated: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(current, indent=1))


@registry_app.command("retire-signing-key")
def retire_signing_key(
    key_id: Annotated[str, typer.Argument(help="The key's id, as /v1/keys publishes it.")],
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Retire a compromised list-signing key (not the current one: rotate first): its private
    file is deleted, it is no longer published as valid, and consumers are told to stop trusting
    it. Audited."""
    from stopframe.apps.registry import audit
    from stopframe.lists.signing import SigningKeyError, retire

    settings = _settings(data_dir, database_url)
    try:
        with _opened_registry(settings) as reg, reg.db.write() as session:
            current = retire(settings.signing_dir, key_id, settings.signing_key).published()[-1]
            audit.record(session, "cli", "signing_key.retire", key_id, current=current["key_id"])
    except SigningKeyError as exc:
        typer.echo(f"nothing retired: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps({"retired": key_id, "current": current["key_id"]}, indent=1))


audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
registry_app.add_typer(audit_app, name="audit")


def _recorded_head(text: str | None) -> tuple[int, str] | None:
    """`ID:MAC` as given to --expect-head, parsed; a malformed one is exit 2."""
    if text is None:
        return None
    row_id, _, mac = text.partition(":")
    if not row_id.isdigit() or len(mac) != 64:
        typer.echo("error: --expect-head takes ID:MAC as `audit verify` prints it", err=True)
        raise typer.Exit(2)
    return int(row_id), mac.lower()


ExpectHead = Annotated[
    str | None,
    typer.Option(
        "--expect-head", help="ID:MAC of a head printed earlier; fail if the log no longer has it"
    ),
]


@audit_app.command("verify")
def audit_verify(
    data_dir: DataDir = None, database_url: DbUrl = None, expect_head: ExpectHead = None
) -> None:
    """Check the audit chain under the audit key and replay it against the tables; exit 1 naming
    the first bad row, a recorded head that is gone, or each difference from the tables."""
    from stopframe.apps.registry import audit, auditreplay
    from stopframe.apps.registry.db import open_database

    head = _recorded_head(expect_head)
    settings = _settings(data_dir, database_url)
    with _registry_opens():
        db = open_database(settings.resolved_database_url)
    try:
        key = audit.load_key(settings.data_dir, create=False)
        with db.read() as session:
            result = audit.verify(session, key, expect_head=head)
            differences = 0
            for line in auditreplay.differences(session) if result.ok else ():
                typer.echo(f"differs: {line}", err=True)
                differences += 1
    except audit.AuditKeyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    if not result.ok:
        typer.echo(
            f"audit chain broken at row {result.first_bad_id}: {result.reason} "
            f"({result.rows} rows before it check out)",
            err=True,
        )
        raise typer.Exit(1)
    if result.legacy_last_id:
        typer.echo(
            f"unauthenticated legacy rows up to id {result.legacy_last_id}, "
            "authenticated from the chain start after them"
        )
    typer.echo(f"audit chain intact: {result.rows} rows, head {result.head[0]}:{result.head[1]}")
    if differences:
        typer.echo(f"the tables differ from the audit log in {differences} place(s)", err=True)
        raise typer.Exit(1)


@registry_app.command()
def backup(destination: Path, data_dir: DataDir = None, database_url: DbUrl = None) -> None:
    """Write a consistent copy of the database to DESTINATION, a new file readable by its owner
    only (SQLite file or pg_dump archive), the signing keys beside it (DESTINATION.signing/) and
    a manifest (DESTINATION.manifest.json); an existing file or a missing folder is refused."""
    from stopframe.apps.registry.backup import BackupError
    from stopframe.apps.registry.backup import backup as run

    settings = _settings(data_dir, database_url)
    try:
        path = run(settings.resolved_database_url, destination, settings.signing_dir)
    except BackupError as exc:
        typer.echo(f"backup failed: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"backup written to {path} (keys and manifest beside it)")


@registry_app.command()
def restore(
    backup: Annotated[Path, typer.Argument(help="The backup's database file, as `backup` wrote.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a registry with another registry id.")
    ] = False,
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Restore a SQLite registry from BACKUP with the service stopped: checks the manifest,
    raises the epoch (consumers take a new snapshot) and keeps the revocations and withdrawals
    the replaced database knew; the replaced database is kept beside the new one."""
    from stopframe.apps.registry.backup import BackupError
    from stopframe.apps.registry.restore import restore as run

    settings = _settings(data_dir, database_url)
    try:
        done = run(backup, settings.resolved_database_url, settings.signing_dir, force)
    except BackupError as exc:
        typer.echo(f"restore failed, nothing changed: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"restored registry {done.registry_id} at epoch {done.epoch}, sequence {done.sequence}"
    )
    if not done.newer_read:
        typer.echo("no readable newer database: nothing re-applied", err=True)
    typer.echo(f"API keys revoked again: {', '.join(done.revoked) or 'none'}")
    typer.echo(f"entries withdrawn again: {', '.join(map(str, done.withdrawn)) or 'none'}")
    if done.keys_added:
        typer.echo(f"signing keys put back: {', '.join(done.keys_added)}")
    if done.replaced is not None:
        typer.echo(f"the replaced database is kept as {done.replaced}")


@contextmanager
def _import_bar() -> Iterator[Callable[[int, int], None] | None]:
    """A callback `(entries written, entries in all)` drawing a bar on stderr while a large
    import runs, or None when stderr is not a terminal (nothing to draw on)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    stderr = Console(stderr=True)
    if not stderr.is_terminal:
        yield None
        return
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=stderr, transient=True) as bar:
        task = bar.add_task("import", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@registry_app.command("import")
def import_list(
    bank: str,
    file: Path,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help="threatexchange-csv, "
            "threatexchange-text, stopncii-json, ncmec-xml, projectvic-json",
        ),
    ],
    data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Import a partner list FILE into BANK (the bank must exist)."""
    from stopframe.apps.registry.services import banks, transfer
    from stopframe.errors import ServiceError

    settings = _settings(data_dir, database_url)
    try:
        with (
            _opened_registry(settings) as reg,
            _import_bar() as progress,
            reg.db.write() as session,
        ):
            result = transfer.import_file(
                session,
                banks.get_bank(session, bank),
                format,
                file.read_bytes(),
                settings.max_import_entries,
                "cli",
                progress,
            )
    except ServiceError as exc:
        typer.echo(f"import failed, nothing written: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(dataclasses.asdict(result), indent=1))
