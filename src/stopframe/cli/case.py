"""`stopframe case open | add | status | withdraw`: a case holder's side of the registry, from a
terminal. Hashes go out, never media, file names or paths.

Credentials come from a case file (`--case-file`, written by `open --save`) or from
`--registry` and `--case-number` with the PIN from $STOPFRAME_CASE_PIN or a prompt.
Exit codes: 0 done, 1 the registry refused or could not be reached, 2 bad arguments or input.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from rich.console import Console
from rich.table import Table

from stopframe.apps.intake.client import CaseClient, IntakeError
from stopframe.apps.intake.records import LocalItem, RecordsError, read_records

EXIT_REFUSED = 1
EXIT_USAGE = 2
BATCH = 100  # items per request: each request is all or none
BATCH_CHARS = 3 << 20  # value characters per request, under the registry's 4 MiB default

case_app = typer.Typer(
    help="Open a case, add hashes of your files to it, follow them, withdraw them.",
    no_args_is_help=True,
)

Registry = Annotated[
    str | None,
    typer.Option(
        "--registry", envvar="STOPFRAME_REGISTRY_URL", help="Registry address, http(s)://host:port"
    ),
]
CaseFile = Annotated[
    Path | None,
    typer.Option("--case-file", help="Case file written by `stopframe case open --save`."),
]
CaseNumber = Annotated[
    str | None, typer.Option("--case-number", help="The case number (with --registry).")
]


@dataclass(frozen=True)
class Credentials:
    """Where the case lives and how to act for it."""

    registry: str
    case_number: str
    pin: str


def _fail(message: str, code: int) -> typer.Exit:
    """Print `message` on stderr and return the Exit to raise."""
    typer.echo(message, err=True)
    return typer.Exit(code)


@contextmanager
def _client(registry: str, api_key: str | None = None) -> Iterator[CaseClient]:
    """A client of `registry`; a refusal or an unreachable registry ends the command with 1."""
    if not registry.startswith(("http://", "https://")):
        raise _fail(f"--registry must start with http:// or https://, got {registry!r}", EXIT_USAGE)
    try:
        with CaseClient(registry, api_key) as client:
            yield client
    except IntakeError as exc:
        raise _fail(f"error: {exc}", EXIT_REFUSED) from None


def _from_case_file(path: Path) -> Credentials:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        return Credentials(str(body["registry"]), str(body["case_number"]), str(body["pin"]))
    except OSError as exc:
        raise _fail(f"cannot read {path}: {exc.strerror}", EXIT_USAGE) from None
    except (ValueError, KeyError, TypeError):
        raise _fail(
            f"{path} is not a case file (JSON with registry, case_number, pin)", EXIT_USAGE
        ) from None


def _credentials(case_file: Path | None, registry: str | None, number: str | None) -> Credentials:
    """The case to act for: from the case file, or the options and the PIN."""
    if case_file is not None:
        return _from_case_file(case_file)
    if not registry or not number:
        raise _fail("give --case-file, or --registry and --case-number", EXIT_USAGE)
    pin = os.environ.get("STOPFRAME_CASE_PIN") or typer.prompt("Case PIN", hide_input=True)
    return Credentials(registry, number.strip().upper(), pin.strip())


def _save(path: Path, body: dict[str, str]) -> None:
    """Write the case file readable by its owner only; never overwrite one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise _fail(f"{path} exists; not overwritten (choose another --save)", EXIT_USAGE) from None
    except OSError as exc:
        raise _fail(f"cannot write {path}: {exc.strerror}", EXIT_USAGE) from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(body, handle, indent=1)
        handle.write("\n")


@case_app.command("open")
def open_command(
    registry: Registry = None,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            envvar="STOPFRAME_API_KEY",
            help="API key (submit scope); without one, "
            "the case is opened anonymously after a short proof of work.",
        ),
    ] = None,
    save: Annotated[
        Path | None, typer.Option("--save", help="Also write a case file (mode 0600) here.")
    ] = None,
) -> None:
    """Open a case and print its number and PIN, once."""
    if not registry:
        raise _fail("give --registry (or set STOPFRAME_REGISTRY_URL)", EXIT_USAGE)
    if save is not None and save.exists():
        raise _fail(f"{save} exists; not overwritten (choose another --save)", EXIT_USAGE)
    with _client(registry, key) as client:
        opened = client.open_case()
    typer.echo(f"case number: {opened.case_number}")
    typer.echo(f"PIN:         {opened.pin}")
    typer.echo(
        "Keep both somewhere safe now: the registry cannot show the PIN again or recover it.",
        err=True,
    )
    if save is not None:
        body = {"registry": registry, "case_number": opened.case_number, "pin": opened.pin}
        _save(save, body)
        typer.echo(f"case file written to {save} (readable by you only)", err=True)


@contextmanager
def _input(hashes: str) -> Iterator[TextIO]:
    if hashes == "-":
        yield sys.stdin
        return
    try:
        with open(hashes, encoding="utf-8") as handle:
            yield handle
    except OSError as exc:
        raise _fail(f"cannot read {hashes}: {exc.strerror}", EXIT_USAGE) from None


@case_app.command("add")
def add_command(
    hashes: Annotated[
        str, typer.Argument(help="`stopframe hash` output (jsonl or csv); - for stdin.")
    ] = "-",
    case_file: CaseFile = None,
    registry: Registry = None,
    case_number: CaseNumber = None,
) -> None:
    """Add one item per hashed file (its hashes only) and print the item ids."""
    credentials = _credentials(case_file, registry, case_number)
    try:
        with _input(hashes) as stream:
            found = read_records(stream)
    except (RecordsError, UnicodeDecodeError) as exc:
        raise _fail(f"{hashes}: {exc}", EXIT_USAGE) from None
    for path, reason in found.skipped:
        typer.echo(f"skipped {path}: {reason}", err=True)
    if not found.items:
        raise _fail("no hashed file to add", EXIT_USAGE)
    added = 0
    with _client(credentials.registry) as client:
        for batch in _batches(found.items):
            answer = client.add_items(
                credentials.case_number, credentials.pin, [local.item for local in batch]
            )
            added += int(answer["added"])
            for local, item in zip(batch, answer["items"], strict=True):
                typer.echo(f"item {item['id']}\t{item['media']}\t{local.path}")
    typer.echo(f"{added} new item(s), {len(found.items) - added} already in the case", err=True)


def _batches(items: list[LocalItem]) -> Iterator[list[LocalItem]]:
    """Items in requests of at most BATCH items and about BATCH_CHARS characters of values, so
    long videos' hashes stay under the registry's body limit (one larger item goes alone)."""
    batch: list[LocalItem] = []
    size = 0
    for local in items:
        chars = sum(len(signal.value) for signal in local.item.signals)
        if batch and (len(batch) == BATCH or size + chars > BATCH_CHARS):
            yield batch
            batch, size = [], 0
        batch.append(local)
        size += chars
    if batch:
        yield batch


def _table(body: dict[str, Any]) -> Table:
    table = Table(
        title=f"case {body['case_number']}: {body['items_active']} active, "
        f"{body['items_withdrawn']} withdrawn; matched {body['matched']}, "
        f"acted on {body['acted_on']}",
        title_justify="left",
    )
    for column in ("item", "media", "kinds", "added", "withdrawn", "matched", "acted on"):
        table.add_column(column)
    for item in body["items"]:
        table.add_row(
            str(item["id"]),
            item["media"],
            ",".join(item["kinds"]),
            item["created_at"][:19],
            (item["withdrawn_at"] or "")[:19],
            str(item["matched"]),
            str(item["acted_on"]),
        )
    return table


@case_app.command("status")
def status_command(
    case_file: CaseFile = None,
    registry: Registry = None,
    case_number: CaseNumber = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the registry's JSON.")] = False,
) -> None:
    """Show each item with how often it was matched and acted on."""
    credentials = _credentials(case_file, registry, case_number)
    with _client(credentials.registry) as client:
        body = client.items(credentials.case_number, credentials.pin)
    if as_json:
        typer.echo(json.dumps(body, indent=1))
    else:
        Console(width=None if sys.stdout.isatty() else 120).print(_table(body))


@case_app.command("withdraw")
def withdraw_command(
    item_ids: Annotated[list[int], typer.Argument(help="Item ids, as `add` printed them.")],
    case_file: CaseFile = None,
    registry: Registry = None,
    case_number: CaseNumber = None,
) -> None:
    """Withdraw items: platforms stop matching their hashes on their next sync."""
    credentials = _credentials(case_file, registry, case_number)
    with _client(credentials.registry) as client:
        for item_id in item_ids:
            item = client.withdraw(credentials.case_number, credentials.pin, item_id)
            typer.echo(f"item {item['id']} withdrawn at {item['withdrawn_at']}")
