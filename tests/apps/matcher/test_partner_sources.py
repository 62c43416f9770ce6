"""Partner list sources: `BANK=FORMAT:PATH` parsing, a folder read as the union of its files,
edits synced as exactly their difference (entry ids of unchanged values kept), unchanged files
publishing nothing, and files that cannot be read leaving the old list serving with the status
naming the file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.apps.matcher.conftest import BANK, FORMAT, partner_syncer, random_pdq, write_list

from stopframe.apps.matcher.sources import parse_partner_source, parse_partner_sources
from stopframe.apps.matcher.sync import INDEX_DIR, Syncer
from stopframe.errors import ConfigError, FormatError
from stopframe.lists.formats import get_format
from stopframe.matching.generations import current_name, read_current
from stopframe.matching.index_set import IndexSet

VALUES = random_pdq(8, seed=3)


# -- parsing ----------------------------------------------------------------------------------
def test_a_source_names_bank_format_and_path() -> None:
    source = parse_partner_source(f" {BANK} = {FORMAT} : /srv/lists/partner.txt ")
    assert (source.bank, source.format, source.path) == (
        BANK,
        FORMAT,
        Path("/srv/lists/partner.txt"),
    )
    assert source.origin == "file:/srv/lists/partner.txt"
    both = parse_partner_sources(f"a={FORMAT}:/x.txt; b=threatexchange-csv:/y/")
    assert [(s.bank, s.format) for s in both] == [("a", FORMAT), ("b", "threatexchange-csv")]
    assert parse_partner_sources(None) == [] and parse_partner_sources(" ; ") == []


@pytest.mark.parametrize(
    ("item", "says"),
    [
        (f"{FORMAT}:/x.txt", "expected BANK=FORMAT:PATH"),
        ("bank=/x.txt", "expected BANK=FORMAT:PATH"),
        (f"bank={FORMAT}:", "expected BANK=FORMAT:PATH"),
        (f"bank={FORMAT}:  ", "expected BANK=FORMAT:PATH"),
        (f"={FORMAT}:/x.txt", "expected BANK=FORMAT:PATH"),
        ("bank=nope:/x.txt", "unknown format 'nope'"),
        (f"../up={FORMAT}:/x.txt", "bank name"),
        (f"a/b={FORMAT}:/x.txt", "bank name"),
    ],
)
def test_a_bad_source_is_a_config_error_showing_the_accepted_forms(item: str, says: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_partner_source(item)
    message = str(refused.value)
    assert says in message and repr(item) in message
    assert FORMAT in message or "bank name" in message  # the formats it accepts are listed


@pytest.mark.parametrize(
    "text",
    [f"a={FORMAT}:/x; a={FORMAT}:/y", f"registry={FORMAT}:/x"],
    ids=["twice", "registry"],
)
def test_partner_banks_are_distinct_and_not_the_registry(text: str) -> None:
    with pytest.raises(ConfigError, match="distinct"):
        parse_partner_sources(text)


# -- syncing -----------------------------------------------------------------------------------
@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "matcher"


@pytest.fixture
def syncers(data_dir: Path) -> Iterator[list[Syncer]]:
    """Syncers a test opens (closed after it)."""
    opened: list[Syncer] = []
    yield opened
    for syncer in opened:
        syncer.close()


def listed(syncer: Syncer) -> dict[str, int]:
    """The partner bank's active entries, value -> id."""
    return {e.value: e.id for e in syncer.stores.entries(BANK)}


def generation(data_dir: Path) -> int:
    manifest = read_current(data_dir / INDEX_DIR)
    return 0 if manifest is None else manifest.generation


def test_a_folder_is_the_union_of_its_files(
    tmp_path: Path, data_dir: Path, syncers: list[Syncer]
) -> None:
    folder = tmp_path / "drop"
    write_list(folder / "a.txt", [("pdq", v) for v in VALUES[:3]])
    write_list(folder / "b.txt", [("pdq", v) for v in VALUES[2:5]] + [("md5", "0" * 32)])
    (folder / ".partial.txt").write_text("not a list, and hidden\n")
    (folder / "sub").mkdir()
    syncer = partner_syncer(data_dir, folder)
    syncers.append(syncer)
    assert syncer.sync_once() == {BANK: 6}
    assert set(listed(syncer)) == set(VALUES[:5]) | {"0" * 32}  # VALUES[2] once
    reader = IndexSet(data_dir / INDEX_DIR)
    assert reader.refresh()
    assert (reader.size("pdq"), reader.size("md5")) == (5, 1)

    (folder / "b.txt").unlink()  # VALUES[2] stays: a.txt lists it too
    assert syncer.sync_once() == {BANK: 3}
    assert set(listed(syncer)) == set(VALUES[:3])


def test_an_edit_syncs_exactly_its_difference_and_keeps_ids(
    tmp_path: Path, data_dir: Path, syncers: list[Syncer]
) -> None:
    path = write_list(tmp_path / "p.txt", [("pdq", v) for v in VALUES[:5]])
    syncer = partner_syncer(data_dir, path)
    syncers.append(syncer)
    syncer.sync_once()
    before = listed(syncer)
    assert sorted(before.values()) == [1, 2, 3, 4, 5]

    write_list(path, [("pdq", v) for v in VALUES[1:4] + VALUES[5:7]])  # -0, -4, +5, +6
    assert syncer.sync_once() == {BANK: 4}
    after = listed(syncer)
    assert set(after) == set(VALUES[1:4] + VALUES[5:7])
    assert all(after[v] == before[v] for v in VALUES[1:4])  # unchanged entries keep their ids
    assert {after[VALUES[5]], after[VALUES[6]]} == {6, 7}  # new ones get new ids
    reader = IndexSet(data_dir / INDEX_DIR)
    reader.refresh()
    assert reader.size("pdq") == 5
    assert syncer.status.sources[BANK].entries == 5

    # a second syncer (a restarted sync process) sees no difference and publishes nothing
    published = generation(data_dir)
    restarted = partner_syncer(data_dir, path)
    syncers.append(restarted)
    assert restarted.sync_once() == {BANK: 0}
    assert generation(data_dir) == published
    assert listed(restarted) == after


def test_an_id_once_withdrawn_never_names_another_value(
    tmp_path: Path, data_dir: Path, syncers: list[Syncer]
) -> None:
    """Policy (`allow_entries`), flood quarantine and reports name entries by id: an id that
    came back for another hash would carry their decisions over to it."""
    path = write_list(tmp_path / "p.txt", [("pdq", v) for v in VALUES[:2]])
    syncer = partner_syncer(data_dir, path)
    syncers.append(syncer)
    syncer.sync_once()
    first = listed(syncer)
    write_list(path, [("pdq", VALUES[0])])  # the newest entry is withdrawn...
    syncer.sync_once()
    write_list(path, [("pdq", VALUES[0]), ("pdq", VALUES[2])])  # ...and another hash added
    syncer.sync_once()
    later = listed(syncer)
    assert later[VALUES[0]] == first[VALUES[0]]
    assert later[VALUES[2]] not in first.values()
    restarted = partner_syncer(data_dir, path)  # the same after a restart
    syncers.append(restarted)
    write_list(path, [("pdq", VALUES[0]), ("pdq", VALUES[3])])
    restarted.sync_once()
    assert listed(restarted)[VALUES[3]] not in {*first.values(), *later.values()}


def test_an_unchanged_file_publishes_no_generation(
    tmp_path: Path, data_dir: Path, syncers: list[Syncer]
) -> None:
    path = write_list(tmp_path / "p.txt", [("pdq", v) for v in VALUES[:4]])
    syncer = partner_syncer(data_dir, path)
    syncers.append(syncer)
    assert syncer.sync_once() == {BANK: 4}
    published, name = syncer.writer.generation, current_name(data_dir / INDEX_DIR)
    assert published == generation(data_dir) > 0

    path.write_text(path.read_text())  # rewritten, same bytes
    assert syncer.sync_once() == {BANK: 0}
    lines = path.read_text().splitlines()
    path.write_text("# reordered, with a comment\n" + "\n".join(reversed(lines)) + "\n\n")
    assert syncer.sync_once() == {BANK: 0}  # other bytes, the same signals
    assert syncer.writer.generation == published
    assert current_name(data_dir / INDEX_DIR) == name
    assert syncer.status.sources[BANK].last_error is None
    assert sorted(listed(syncer).values()) == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"pdq 1234\n", "line 4: pdq must be 64 hex characters"),
        (b"\xff\xfe\x00 not text at all", "not UTF-8"),
        (b"just-one-word\n", "line 4: expected 'signal_type signal'"),
        (None, "partner list not found"),
    ],
    ids=["bad-value", "binary", "bad-line", "missing"],
)
def test_a_file_that_cannot_be_read_leaves_the_old_list_serving(
    tmp_path: Path, data_dir: Path, syncers: list[Syncer], content: bytes | None, says: str
) -> None:
    path = write_list(tmp_path / "p.txt", [("pdq", v) for v in VALUES[:3]])
    syncer = partner_syncer(data_dir, path)
    syncers.append(syncer)
    syncer.sync_once()
    published = generation(data_dir)

    if content is None:
        path.unlink()
    else:
        good = path.read_bytes()
        path.write_bytes(good + content)
    assert syncer.sync_once() == {BANK: 0}  # never raised: the sync loop lives on
    status = syncer.status.sources[BANK]
    assert status.last_error is not None
    assert str(path) in status.last_error and says in status.last_error
    assert status.failures == 1 and status.entries == 3
    assert generation(data_dir) == published
    assert set(listed(syncer)) == set(VALUES[:3])


def test_an_empty_folder_is_an_error_not_a_withdrawal_of_everything(
    tmp_path: Path, data_dir: Path, syncers: list[Syncer]
) -> None:
    folder = tmp_path / "drop"
    write_list(folder / "a.txt", [("pdq", v) for v in VALUES[:3]])
    syncer = partner_syncer(data_dir, folder)
    syncers.append(syncer)
    syncer.sync_once()
    (folder / "a.txt").rename(tmp_path / "a.txt")  # mid-delivery: the folder is empty
    syncer.sync_once()
    assert "holds no list file" in (syncer.status.sources[BANK].last_error or "")
    assert set(listed(syncer)) == set(VALUES[:3])


def test_an_emptied_file_withdraws_every_entry(
    tmp_path: Path, data_dir: Path, syncers: list[Syncer]
) -> None:
    path = write_list(tmp_path / "p.txt", [("pdq", v) for v in VALUES[:3]])
    syncer = partner_syncer(data_dir, path)
    syncers.append(syncer)
    syncer.sync_once()
    path.write_text("# the partner withdrew everything\n")
    assert syncer.sync_once() == {BANK: 3}
    assert listed(syncer) == {}
    reader = IndexSet(data_dir / INDEX_DIR)
    reader.refresh()
    assert reader.size("pdq") == 0


@pytest.mark.parametrize("name", ["threatexchange-text", "threatexchange-csv"])
def test_a_format_refuses_bytes_that_are_not_utf8_with_a_format_error(name: str) -> None:
    with pytest.raises(FormatError):
        get_format(name).parse(b"pdq \xff\xfe\n")
