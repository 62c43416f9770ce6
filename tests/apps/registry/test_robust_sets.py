"""A robust picture set (`pdq_robust`, many `variant,quality,pdq_hex` lines) travels unchanged,
value text and quality, from a case through the signed snapshot and change feed into a consumer's
list store, and through a partner file that carries it back into a bank; a partner format that
cannot carry it refuses the export or, when partial, says it left it out."""

from __future__ import annotations

from pathlib import Path

from stopframe.hashing.files import HashOptions, hash_file
from stopframe.lists.client import RegistryClient
from stopframe.lists.documents import ListEntry
from stopframe.lists.formats import stopncii, threatexchange
from stopframe.lists.store import ListStore
from stopframe.samples import sample_images
from stopframe.signals import PDQ_ROBUST, Signal

CASE_BANK = "self-reported"  # the registry's default case bank: every registered kind


def robust_set(path: Path) -> Signal:
    """The picture's registration set as `stopframe hash --robust` makes it."""
    signal = hash_file(path, HashOptions(robust=True)).signal(PDQ_ROBUST.name)
    assert signal is not None and len(signal.value.splitlines()) > 1
    return signal


def submit(client, case_number: str, case: dict[str, str], signal: Signal) -> dict:  # type: ignore[no-untyped-def]
    """The case submits one signal; returns its entry as the registry answers it."""
    answer = client.post(
        f"/v1/cases/{case_number}/entries",
        headers=case,
        json={"signals": [{"kind": signal.kind, "value": signal.value, "quality": signal.quality}]},
    )
    assert answer.status_code == 201, answer.text
    (entry,) = answer.json()["entries"]
    return dict(entry)


def test_a_robust_set_travels_unchanged_through_the_signed_lists(  # type: ignore[no-untyped-def]
    client, headers, new_case, pinned, tmp_path
) -> None:
    first, second = (robust_set(path) for path in sample_images()[:2])
    number, case = new_case()
    entry = submit(client, number, case, first)
    assert (entry["kind"], entry["value"], entry["quality"]) == (
        PDQ_ROBUST.name,
        first.value,
        first.quality,
    )

    key = headers["read"]["Authorization"].removeprefix("Bearer ")
    rc = RegistryClient("http://testserver", key, pinned, http=client)
    with ListStore.open(tmp_path / "lists.sqlite") as store:
        assert rc.sync(store) == 1  # the snapshot
        assert store.get(entry["id"]) == ListEntry(
            entry["id"], CASE_BANK, PDQ_ROBUST.name, first.value, first.quality
        )
        later = submit(client, number, case, second)
        assert rc.sync(store) == 1  # the change feed
        assert store.get(later["id"]) == ListEntry(
            later["id"], CASE_BANK, PDQ_ROBUST.name, second.value, second.quality
        )
        assert client.delete(f"/v1/cases/{number}/entries/{entry['id']}", headers=case).is_success
        assert rc.sync(store) == 1
        assert store.get(entry["id"]) is None
        assert [e.id for e in store.entries(kind=PDQ_ROBUST.name)] == [later["id"]]


def test_partner_files_carry_a_robust_set_or_say_they_left_it_out(  # type: ignore[no-untyped-def]
    client, headers, new_case
) -> None:
    signal = robust_set(sample_images()[0])
    number, case = new_case()
    submit(client, number, case, signal)
    export = f"/v1/banks/{CASE_BANK}/export"

    carriers = (("threatexchange-csv", threatexchange.parse_csv), ("stopncii-json", stopncii.parse))
    for fmt, parse in carriers:
        exported = client.get(f"{export}?format={fmt}", headers=headers["read"])
        assert exported.status_code == 200 and "x-stopframe-left-out" not in exported.headers
        assert parse(exported.content).signals == [signal], fmt
    copy = client.post(
        "/v1/banks", headers=headers["admin"], json={"name": "copy", "kinds": [PDQ_ROBUST.name]}
    )
    assert copy.status_code == 201, copy.text
    imported = client.post(
        "/v1/banks/copy/import?format=stopncii-json",
        content=client.get(f"{export}?format=stopncii-json", headers=headers["read"]).content,
        headers={**headers["admin"], "Content-Type": "application/json"},
    )
    assert imported.status_code == 200 and imported.json()["added"] == 1, imported.text
    back = client.get("/v1/banks/copy/export?format=threatexchange-csv", headers=headers["read"])
    assert threatexchange.parse_csv(back.content).signals == [signal]

    for fmt in ("threatexchange-text", "ncmec-xml", "projectvic-json"):
        refused = client.get(f"{export}?format={fmt}", headers=headers["read"])
        assert refused.status_code == 422, fmt
        assert f"{fmt} cannot carry pdq_robust signals (1 of 1)" in refused.json()["detail"]
        partial = client.get(f"{export}?format={fmt}&partial=true", headers=headers["read"])
        assert partial.status_code == 200 and partial.headers["x-stopframe-left-out"] == (
            "pdq_robust=1"
        ), fmt
