"""The investigator's reports of a triaged collection, written into one folder.

`write_reports` writes `summary.json` (the figures), `files.csv` (every file), `groups.csv`
(every grouped file under its group), `vics.json` (a Project VIC VICS 2.0 Media document) and
`report.html` (one offline page: no script, no external URL, a Content-Security-Policy that
forbids fetching anything), plus `thumbnails/<group>.jpg` only when asked for.

Paths and decoder messages come from a seized collection and are treated as hostile: HTML
escapes them and a CSV cell that a spreadsheet would run as a formula is prefixed with `'`.

vics.json follows the VICS 2.0 shape Project VIC tools exchange (`@odata.context` naming
`DataModels/2.0.xml`, a `value` array of Media with `MediaID`, `MD5`, `SHA1`, `SHA256` in
uppercase hex, `MediaSize`, `Category`, `IsDistributed`, `IsPrecategorized`, `MediaFiles`).
VICS has no field for "copies of one picture": its `Series` names a known victim series and
`Tags`/`Comments` are the examiner's own, so grouping goes in a stopframe extension object,
`"stopframe": {"group_id", "group_kind", "relation", "representative"}`, which VICS readers
ignore. `Category` is set only when the lists that made a group known agree on one numeric
category.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import stopframe
from stopframe.errors import ConfigError, MediaError
from stopframe.media.images import decode_image
from stopframe.media.limits import MediaLimits
from stopframe.triage.model import IMAGE, VIDEO, Group, TriageFile, TriageResult

SUMMARY, FILES, GROUPS, VICS, HTML = (
    "summary.json",
    "files.csv",
    "groups.csv",
    "vics.json",
    "report.html",
)
REPORT_FILES = (SUMMARY, FILES, GROUPS, VICS, HTML)
THUMBNAILS = "thumbnails"
THUMBNAIL_SIDE = 160
VICS_CONTEXT = (
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"
)
CSP = "default-src 'none'; img-src data: 'self'; style-src 'unsafe-inline'"

FILE_COLUMNS = (
    "number",
    "path",
    "group_id",
    "relation",
    "status",
    "media_type",
    "format",
    "width",
    "height",
    "duration_s",
    "size",
    "md5",
    "sha1",
    "sha256",
    "pdq",
    "quality",
    "known",
    "error",
)
GROUP_COLUMNS = (
    "group_id",
    "group_kind",
    "group_size",
    "representative",
    "file_number",
    "path",
    "relation",
    "known",
    "known_lists",
    "categories",
    "contains",
)
SIZE_BUCKETS = (("1", 1, 1), ("2", 2, 2), ("3–5", 3, 5), ("6–10", 6, 10), ("11–50", 11, 50))
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]+")


def _names(pattern: str) -> re.Pattern[str]:
    """File names matching `pattern`, or a temp file `_write` left for one (a crash between
    write and rename)."""
    return re.compile(rf"(?:{pattern})|\.(?:{pattern})\.[A-Za-z0-9_]+\.tmp")


_REPORT_NAMES = _names("|".join(map(re.escape, REPORT_FILES)))
_THUMB_NAMES = _names(r"[A-Za-z0-9_-]+\.jpg")


def summary_line(result: TriageResult) -> str:
    """The one-line terminal summary: files, distinct pictures and recordings, known and new
    groups, unreadable files (and skipped non-media files when there are any)."""
    s = result.summary()
    line = (
        f"{_count(s['files'], 'file')} → {_count(s['distinct_images'], 'distinct picture')}, "
        f"{_count(s['distinct_videos'], 'distinct recording')}"
    )
    if s["compilations"]:
        line += f" ({_count(s['compilations'], 'compilation')})"
    line += f"; {s['known_groups']:,} known, {s['new_groups']:,} new, {s['errors']:,} unreadable"
    if s["skipped"]:
        line += f", {s['skipped']:,} skipped (not media)"
    return line


def write_reports(result: TriageResult, out: Path, *, thumbnails: bool = False) -> list[Path]:
    """Write every report into `out` (created if needed) and return the paths written.

    `out` must be new, empty or a previous triage report: a folder holding anything else is
    refused with ConfigError, so a mistyped path never overwrites unrelated files.
    """
    out = Path(out)
    _prepare(out)
    thumbs = _write_thumbnails(result, out) if thumbnails else {}
    _remove_stale_thumbnails(out, keep=set(thumbs.values()))
    generated_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    summary = {**result.summary(), "generated_at": generated_at, "stopframe_version": _version()}
    documents = {
        SUMMARY: _utf8(json.dumps(summary, indent=2, ensure_ascii=False) + "\n"),
        FILES: _csv_bytes(FILE_COLUMNS, _file_rows(result)),
        GROUPS: _csv_bytes(GROUP_COLUMNS, _group_rows(result)),
        VICS: _utf8(json.dumps(_vics(result), indent=1, ensure_ascii=False)),
        HTML: _utf8(_html(result, summary, thumbs)),
    }
    written = [_write(out / name, data) for name, data in documents.items()]
    return [*thumbs.values(), *written]


# the output folder ------------------------------------------------------------------------------


def _prepare(out: Path) -> None:
    """Create `out`, or check that what it holds is only an earlier report's files."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: the report folder is a file; choose a new or empty folder")
    out.mkdir(parents=True, exist_ok=True)
    foreign = _foreign(out, _REPORT_NAMES, THUMBNAILS)
    thumbs = out / THUMBNAILS
    if thumbs.is_dir() and not thumbs.is_symlink():
        foreign += [f"{THUMBNAILS}/{name}" for name in _foreign(thumbs, _THUMB_NAMES, None)]
    if foreign:
        shown = ", ".join(sorted(foreign)[:5]) + (", ..." if len(foreign) > 5 else "")
        raise ConfigError(
            f"{out}: refusing to write a triage report into a folder that holds other files "
            f"({shown}); choose a new or empty folder"
        )


def _foreign(folder: Path, ours: re.Pattern[str], subfolder: str | None) -> list[str]:
    """Entries of `folder` that no report writes: neither a plain file named like `ours` nor
    the `subfolder` of thumbnails."""
    foreign: list[str] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name == subfolder and entry.is_dir(follow_symlinks=False):
                continue
            if not (entry.is_file(follow_symlinks=False) and ours.fullmatch(entry.name)):
                foreign.append(entry.name)
    return foreign


def _write(path: Path, data: bytes) -> Path:
    """Write `data` to a temp file beside `path`, then rename it over `path` (atomic)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _utf8(text: str) -> bytes:
    """UTF-8, with a file name's undecodable bytes (lone surrogates) kept as `\\udcXX`."""
    return text.encode("utf-8", "backslashreplace")


def _version() -> str:
    """stopframe's version, from the package or else from its installed metadata."""
    version = getattr(stopframe, "__version__", None)
    return version if isinstance(version, str) else metadata.version("stopframe")


# CSV --------------------------------------------------------------------------------------------


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return _utf8(buffer.getvalue())


def _cell(value: object) -> object:
    """A CSV cell: None empty, booleans yes/no, text that a spreadsheet would evaluate as a
    formula prefixed with `'` (paths and errors are attacker-controlled)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _file_rows(result: TriageResult) -> Iterable[list[object]]:
    groups = {g.id: g for g in result.groups}
    for f in sorted(result.files, key=lambda f: f.number):
        group = groups.get(f.group_id) if f.group_id else None
        yield [
            f.number,
            f.path,
            f.group_id,
            f.relation,
            f.status,
            f.media_type,
            f.format,
            f.width,
            f.height,
            f.duration_s,
            f.size,
            f.md5,
            f.sha1,
            f.sha256,
            f.pdq,
            f.quality,
            None if group is None else group.is_known,
            f.error,
        ]


def _group_rows(result: TriageResult) -> Iterable[list[object]]:
    files = {f.number: f for f in result.files}
    for g in sorted(result.groups, key=lambda g: g.id):
        lists, categories, contains = _lists(g), _categories(g), _contains(g, "@", "-")
        for number in sorted(g.members):
            f = files[number]
            yield [
                g.id,
                g.kind,
                len(g.members),
                number == g.representative,
                number,
                f.path,
                f.relation,
                g.is_known,
                ";".join(lists),
                ";".join(categories),
                ";".join(contains),
            ]


def _lists(group: Group) -> list[str]:
    """The `source/bank` of each list entry the group matched, once each, in match order."""
    return list(dict.fromkeys(f"{m.source}/{m.bank}" for m in group.known))


def _categories(group: Group) -> list[str]:
    return list(dict.fromkeys(m.category for m in group.known if m.category))


def _contains(group: Group, at: str, dash: str) -> list[str]:
    """Each stretch of another group inside this one: `other{at}start{dash}end` (this group's
    seconds); for a picture, `frame of V-...` for each recording it is a frame of."""
    return [
        f"{o.other}{at}{s.start_s:.1f}{dash}{s.end_s:.1f}"
        for o in group.contains
        for s in o.segments
    ] + [f"frame of {video}" for video in group.frame_of]


# VICS -------------------------------------------------------------------------------------------


def _vics(result: TriageResult) -> dict[str, object]:
    groups = {g.id: g for g in result.groups}
    media: list[dict[str, object]] = []
    for f in sorted(result.files, key=lambda f: f.number):
        group = groups.get(f.group_id) if f.group_id else None
        if f.groupable and group is not None:
            media.append(_media(len(media) + 1, f, group))
    return {"@odata.context": VICS_CONTEXT, "value": media}


def _media(media_id: int, f: TriageFile, group: Group) -> dict[str, object]:
    """One VICS Media object for a grouped file; hashes in uppercase hex as Project VIC writes."""
    hashes = {"MD5": f.md5, "SHA1": f.sha1, "SHA256": f.sha256}
    return {
        "MediaID": media_id,
        **{name: value.upper() for name, value in hashes.items() if value},
        "MediaSize": f.size,
        "Category": _vics_category(group),
        "IsDistributed": False,
        "IsPrecategorized": group.is_known,
        "MediaFiles": [{"FileName": os.path.basename(f.path), "FilePath": os.path.dirname(f.path)}],
        "stopframe": {
            "group_id": group.id,
            "group_kind": group.kind,
            "relation": f.relation,
            "representative": f.number == group.representative,
        },
    }


def _vics_category(group: Group) -> int | None:
    """The VICS category number the group's list entries agree on, or None."""
    numbers = {int(c) for c in _categories(group) if c.isdecimal()}
    return numbers.pop() if len(numbers) == 1 else None


# thumbnails -------------------------------------------------------------------------------------


def _write_thumbnails(result: TriageResult, out: Path) -> dict[str, Path]:
    """A small JPEG of each picture group's representative; a file that cannot be read safely
    (or a group id unfit for a file name) gets none."""
    files = {f.number: f for f in result.files}
    limits = MediaLimits.from_env()
    (out / THUMBNAILS).mkdir(exist_ok=True)
    written: dict[str, Path] = {}
    for g in sorted(result.groups, key=lambda g: g.id):
        if g.media_type != IMAGE or not _SAFE_ID.fullmatch(g.id):
            continue
        data = _thumbnail(files[g.representative].path, limits)
        if data is not None:
            written[g.id] = _write(out / THUMBNAILS / f"{g.id}.jpg", data)
    return written


def _thumbnail(path: str, limits: MediaLimits) -> bytes | None:
    """JPEG bytes of the picture at `path` fitted in THUMBNAIL_SIDE, decoded under `limits`."""
    try:
        with open(path, "rb") as f:
            data = f.read(limits.max_file_bytes + 1)  # one byte over: decode_image refuses it
        image = decode_image(data, path, limits, draft_min_side=THUMBNAIL_SIDE).image
    except (OSError, MediaError):
        return None
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _remove_stale_thumbnails(out: Path, keep: set[Path]) -> None:
    """Delete an earlier run's thumbnails this run did not write, so that pictures never
    outlive the report that asked for them."""
    folder = out / THUMBNAILS
    if not folder.is_dir() or folder.is_symlink():
        return
    for path in folder.iterdir():
        if path not in keep:
            path.unlink()
    if not keep:
        folder.rmdir()


# HTML -------------------------------------------------------------------------------------------

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f0}td:first-child{white-space:nowrap}
.known{color:#a00;font-weight:bold}code{word-break:break-all}
"""


def _html(result: TriageResult, summary: dict[str, object], thumbs: dict[str, Path]) -> str:
    e = html.escape
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">',
            "<title>stopframe triage report</title>",
            f"<style>{_STYLE}</style></head><body>",
            "<h1>Triage report</h1>",
            f"<p>{e(summary_line(result))}</p>",
            _summary_table(summary),
            "<h2>Group sizes</h2>",
            _chart(result.groups),
            "<h2>Groups</h2>",
            _groups_table(result, thumbs),
            "<h2>Unreadable files</h2>",
            _errors_table(result.files),
            "</body></html>",
            "",
        ]
    )


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table from already escaped cells."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _summary_table(summary: dict[str, object]) -> str:
    rows = [(html.escape(k), html.escape(_text(v))) for k, v in summary.items()]
    return _table(("figure", "value"), rows)


def _text(value: object) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _groups_table(result: TriageResult, thumbs: dict[str, Path]) -> str:
    e = html.escape
    files = {f.number: f for f in result.files}
    header = ["group", "kind", "size", "known", "lists / banks", "representative", "contains"]
    rows: list[list[str]] = []
    for g in sorted(result.groups, key=lambda g: g.id):
        known = '<span class="known">yes</span>' if g.is_known else "no"
        contains = "<br>".join(
            e(c) + ("" if c.startswith("frame of") else " s") for c in _contains(g, " ", "–")
        )
        row = [e(g.id), e(g.kind), str(len(g.members)), known, e(", ".join(_lists(g)))]
        row += [f"<code>{e(files[g.representative].path)}</code>", contains]
        if thumbs:
            row.append(_img(g.id, thumbs))
        rows.append(row)
    return _table(header + (["thumbnail"] if thumbs else []), rows)


def _img(group_id: str, thumbs: dict[str, Path]) -> str:
    if group_id not in thumbs:
        return ""
    src = f"{THUMBNAILS}/{thumbs[group_id].name}"
    return f'<img src="{html.escape(src)}" alt="" loading="lazy">'


def _errors_table(files: Sequence[TriageFile]) -> str:
    e = html.escape
    errors = sorted((f for f in files if f.status == "error"), key=lambda f: f.number)
    if not errors:
        return "<p>None.</p>"
    rows = [(str(f.number), f"<code>{e(f.path)}</code>", e(f.error or "")) for f in errors]
    return _table(("file", "path", "error"), rows)


def _bucket_counts(groups: Sequence[Group], media_type: str) -> list[int]:
    """How many groups of `media_type` fall in each size bucket (the last is over 50)."""
    sizes = [len(g.members) for g in groups if g.media_type == media_type]
    counts = [sum(1 for n in sizes if low <= n <= high) for _, low, high in SIZE_BUCKETS]
    return [*counts, sum(1 for n in sizes if n > SIZE_BUCKETS[-1][2])]


def _chart(groups: Sequence[Group]) -> str:
    """An inline SVG bar chart: groups per size bucket, pictures and recordings side by side
    (recordings include compilations)."""
    labels = [label for label, _, _ in SIZE_BUCKETS] + [">50"]
    series = [
        ("pictures", "#4a78b5", _bucket_counts(groups, IMAGE)),
        ("recordings (incl. compilations)", "#d08a2c", _bucket_counts(groups, VIDEO)),
    ]
    top = max(1, *(n for _, _, counts in series for n in counts))
    width, height, base, slot, bar = 520, 240, 200, 80, 30
    parts = [
        f'<svg width="{width}" height="{height}" role="img" '
        'aria-label="number of groups by group size">',
        f'<line x1="30" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#888"/>',
    ]
    for i, label in enumerate(labels):
        x0 = 40 + i * slot
        for j, (_, colour, counts) in enumerate(series):
            h = round(160 * counts[i] / top)
            x = x0 + j * bar
            parts.append(
                f'<rect x="{x}" y="{base - h}" width="{bar - 4}" height="{h}" fill="{colour}"/>'
            )
            parts.append(_svg_text(x + bar // 2 - 2, base - h - 4, str(counts[i])))
        parts.append(_svg_text(x0 + bar - 2, base + 16, html.escape(label)))
    for j, (name, colour, _) in enumerate(series):
        parts.append(f'<rect x="{40 + j * 120}" y="226" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{54 + j * 120}" y="235" font-size="12">{name}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _svg_text(x: int, y: int, text: str) -> str:
    return f'<text x="{x}" y="{y}" font-size="12" text-anchor="middle">{text}</text>'


def _count(n: object, word: str) -> str:
    """`n` (with thousands separators) and `word`, plural unless n is 1."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"
