"""The append-only audit log, authenticated: every state change writes one row in its transaction.

row_hash = HMAC-SHA256(audit key, canonical JSON of {id, at, actor, action, subject, details,
prev_hash}), prev_hash being the previous row's row_hash (64 zeros for the first row). The key is
kept apart from the database (`audit.key` in the data folder, or STOPFRAME_AUDIT_KEY), so whoever
can write the database but lacks the key cannot edit, delete, reorder or append a row without
breaking the chain; truncating the newest rows shows against a head recorded earlier
(`chain_head`). Rows written before the log was authenticated (plain sha256 chain) stay as they
are: the first start with a key appends one `audit.chain_start` row that authenticates them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, func, select
from sqlalchemy.orm import Session

from stopframe.apps.registry.models import AuditRecord, Entry
from stopframe.errors import StopframeError
from stopframe.lists.canonical import canonical_json, iso, utcnow

if TYPE_CHECKING:
    from stopframe.apps.registry.db import Database

GENESIS = "0" * 64
KEY_FILE = "audit.key"
KEY_ENV = "STOPFRAME_AUDIT_KEY"
KEY_BYTES = 32
CHAIN_START = "audit.chain_start"
_LABEL = b"stopframe-audit-v1\0"
_keys: dict[str, bytes] = {}  # audit key by database URL, set when the registry opens


class AuditKeyError(StopframeError):
    """The audit key is missing or malformed, so the log can be neither written nor checked."""


def _db_key(url: URL) -> str:
    """The map key of a database: its full URL as text."""
    return url.render_as_string(hide_password=False)


def load_key(data_dir: Path, create: bool = True) -> bytes:
    """The audit key: STOPFRAME_AUDIT_KEY (base64) if set, else `audit.key` in `data_dir`, made
    (0600, atomically) when missing and `create` is set; AuditKeyError otherwise."""
    text = os.environ.get(KEY_ENV)
    source = KEY_ENV
    if text is None:
        path = data_dir / KEY_FILE
        source = str(path)
        if not path.exists():
            if not create:
                raise AuditKeyError(
                    f"no audit key at {path}: restore it from its backup or set {KEY_ENV}"
                )
            _create_key_file(data_dir, path)
        text = path.read_text()
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise AuditKeyError(f"{source}: the audit key is not base64") from None
    if len(key) < KEY_BYTES:
        raise AuditKeyError(f"{source}: the audit key has {len(key)} bytes, at least 32 are needed")
    return key


def _create_key_file(data_dir: Path, path: Path) -> None:
    """Write a new random key to `path` (0600); a key another process made first wins."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    draft = data_dir / f".{KEY_FILE}.{secrets.token_hex(8)}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
    finally:
        draft.unlink(missing_ok=True)


def row_mac(
    key: bytes,
    row_id: int,
    at: str,
    actor: str,
    action: str,
    subject: str,
    details: str,
    prev_hash: str,
) -> str:
    """The HMAC-SHA256 that authenticates one row and chains it to the previous one."""
    body = {
        "id": row_id,
        "at": at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "details": json.loads(details),
        "prev_hash": prev_hash,
    }
    return hmac.new(key, _LABEL + canonical_json(body), hashlib.sha256).hexdigest()


def legacy_hash(at: str, actor: str, action: str, subject: str, details: str, prev: str) -> str:
    """The plain sha256 that chained a row written before the log was authenticated."""
    body = {
        "at": at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "details": json.loads(details),
        "prev_hash": prev,
    }
    return hashlib.sha256(canonical_json(body)).hexdigest()


def id_ranges(ids: list[int]) -> list[list[int]]:
    """Entry ids as sorted [first, last] runs: an audit row of a large import stays small."""
    runs: list[list[int]] = []
    for n in sorted(set(ids)):
        if runs and runs[-1][1] == n - 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return runs


def use_key(db: Database, key: bytes) -> None:
    """Write `db`'s audit rows under `key` from now on; when the newest row is an unauthenticated
    one from before, a chain start row authenticates it and every row before it."""
    _keys[_db_key(db.writer.url)] = key
    with db.read() as session:
        if not _needs_anchor(session, key):
            return
    with db.write() as session:
        if _needs_anchor(session, key):  # checked again under the writer lock
            entries = session.execute(select(func.max(Entry.id))).scalar_one()
            record(
                session,
                "registry",
                CHAIN_START,
                "audit_log",
                legacy_last_id=chain_head(session)[0],
                entries_before=entries or 0,
            )


def _needs_anchor(session: Session, key: bytes) -> bool:
    """True when the newest row is a legacy one (not when it is authenticated or broken:
    `verify` says which)."""
    last = session.execute(
        select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1)
    ).scalar_one_or_none()
    return last is not None and not _authentic(key, last) and _legacy(last)


def _authentic(key: bytes, row: AuditRecord) -> bool:
    """True when `row` carries its MAC under `key`."""
    try:
        mac = row_mac(
            key, row.id, row.at, row.actor, row.action, row.subject, row.details, row.prev_hash
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(mac, row.row_hash)


def _legacy(row: AuditRecord) -> bool:
    """True when `row` carries the plain sha256 of a row from before the log was authenticated."""
    try:
        digest = legacy_hash(row.at, row.actor, row.action, row.subject, row.details, row.prev_hash)
    except (ValueError, TypeError):
        return False
    return digest == row.row_hash


def _chain_start(session: Session) -> int | None:
    """The id of the first chain start row (rows before it are legacy), if there is one."""
    return session.execute(
        select(func.min(AuditRecord.id)).where(AuditRecord.action == CHAIN_START)
    ).scalar_one()


def key_of(session: Session) -> bytes:
    """The audit key loaded for the session's database; AuditKeyError when there is none."""
    key = _keys.get(_db_key(session.get_bind().engine.url))
    if key is None:
        raise AuditKeyError("the audit key was not loaded for this database")
    return key


def record(
    session: Session, actor: str, action: str, subject: str, /, **details: Any
) -> AuditRecord:
    """Append one authenticated row; call inside a write transaction (which holds the writer
    lock, so the next id is ours). AuditKeyError when the registry was opened without a key."""
    key = key_of(session)
    last = session.execute(
        select(AuditRecord.id, AuditRecord.row_hash).order_by(AuditRecord.id.desc()).limit(1)
    ).first()
    row_id, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = iso(utcnow())
    text = canonical_json(details).decode()
    row = AuditRecord(
        id=row_id,
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        details=text,
        prev_hash=prev,
        row_hash=row_mac(key, row_id, at, actor, action, subject, text, prev),
    )
    session.add(row)
    session.flush()
    return row


def chain_head(session: Session) -> tuple[int, str]:
    """(id, row_hash) of the newest row, (0, 64 zeros) for an empty log: recorded outside the
    database (signed lists, operators), it shows any later truncation."""
    last = session.execute(
        select(AuditRecord.id, AuditRecord.row_hash).order_by(AuditRecord.id.desc()).limit(1)
    ).first()
    return (last[0], last[1]) if last else (0, GENESIS)


@dataclass(frozen=True)
class AuditResult:
    """Outcome of a chain check: rows checked, legacy rows before the chain start, the head, and
    the first bad row (None when intact)."""

    rows: int
    first_bad_id: int | None = None
    reason: str = ""
    legacy_last_id: int = 0
    head: tuple[int, str] = (0, GENESIS)

    @property
    def ok(self) -> bool:
        """True when every row checked out."""
        return self.first_bad_id is None


def _rows(session: Session, after: int, until: int | None, batch: int) -> list[AuditRecord]:
    """The next `batch` rows after id `after` (up to `until`), in id order."""
    query = select(AuditRecord).where(AuditRecord.id > after)
    if until is not None:
        query = query.where(AuditRecord.id <= until)
    return list(session.execute(query.order_by(AuditRecord.id).limit(batch)).scalars())


def legacy_verify(session: Session, until: int, batch: int = 10_000) -> AuditResult:
    """Check the plain sha256 chain of the rows up to id `until` (written before the key)."""
    prev, count, last_id = GENESIS, 0, 0
    while rows := _rows(session, last_id, until, batch):
        for row in rows:
            if row.prev_hash != prev or not _legacy(row):
                return AuditResult(count, row.id, "legacy row does not match its hash")
            prev, count, last_id = row.row_hash, count + 1, row.id
    return AuditResult(count, legacy_last_id=last_id, head=(last_id, prev))


def verify(
    session: Session,
    key: bytes | None = None,
    batch: int = 10_000,
    expect_head: tuple[int, str] | None = None,
) -> AuditResult:
    """Walk the whole log in id order and report the first row whose MAC, link or id is wrong,
    or that a head recorded earlier (`expect_head`) is no longer in the log; `key` defaults to
    the one loaded for the session's database."""
    key = key or key_of(session)
    start = _chain_start(session)
    legacy = AuditResult(0)
    if start is not None:
        legacy = legacy_verify(session, start - 1, batch)
        if not legacy.ok:
            return legacy
    prev, count, last_id = legacy.head[1], legacy.rows, legacy.legacy_last_id
    while rows := _rows(session, last_id, None, batch):
        for row in rows:
            reason = _check(key, row, last_id, prev, expect_head)
            if reason:
                return AuditResult(count, row.id, reason)
            prev, count, last_id = row.row_hash, count + 1, row.id
    if expect_head is not None and expect_head[0] > last_id:
        return AuditResult(count, last_id + 1, f"the log ends before the head {expect_head[0]}")
    return AuditResult(count, legacy_last_id=legacy.legacy_last_id, head=(last_id, prev))


def _check(
    key: bytes, row: AuditRecord, last_id: int, prev: str, expect_head: tuple[int, str] | None
) -> str:
    """Why an authenticated row is bad, or "" when it follows `last_id`/`prev` and its MAC holds."""
    if row.id != last_id + 1:
        return f"rows {last_id + 1}..{row.id - 1} are missing"
    if row.prev_hash != prev:
        return "prev_hash does not match the previous row"
    if not _authentic(key, row):
        if _legacy(row) and last_id == 0:
            return "unauthenticated legacy rows and no chain start: open the registry to anchor"
        return "row does not match its MAC (edited or forged)"
    if expect_head is not None and row.id == expect_head[0]:
        if not hmac.compare_digest(row.row_hash, expect_head[1]):
            return "row is not the head recorded earlier"
    return ""
