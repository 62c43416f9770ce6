"""Write hash records as JSON lines, CSV, or the ThreatExchange text form.

The ThreatExchange form is what python-threatexchange's `threatexchange hash` prints and its
`threatexchange match --hashes` reads: one `<signal type> <value>` per line, e.g.
`pdq 3f2a...`. Images appear as their PDQ hash and videos as their MD5 (the video signal that
ThreatExchange lists exchange as text); records with neither are left out.
"""

from __future__ import annotations

import csv
import json
from enum import StrEnum
from typing import TextIO

from stopframe.hashing.files import HashRecord, record_fields
from stopframe.signals import MD5, PDQ, VPDQ


class OutputFormat(StrEnum):
    """Formats `stopframe hash` can write."""

    JSONL = "jsonl"
    CSV = "csv"
    TE = "te"


class RecordWriter:
    """Streams records to a text file in one of the `OutputFormat`s."""

    def __init__(self, out: TextIO, fmt: OutputFormat) -> None:
        self.out = out
        self.fmt = OutputFormat(fmt)
        self._csv: csv.DictWriter[str] | None = None
        if self.fmt is OutputFormat.CSV:
            self._csv = csv.DictWriter(out, fieldnames=list(record_fields()), lineterminator="\n")
            self._csv.writeheader()

    def write(self, record: HashRecord) -> None:
        """Write one record and flush, so a reader sees each file as soon as it is hashed."""
        row = record.to_dict()
        if self.fmt is OutputFormat.JSONL:
            self.out.write(json.dumps(row, separators=(",", ":")) + "\n")
        elif self._csv is not None:
            if row["dihedral"] is not None:
                row["dihedral"] = json.dumps(row["dihedral"], separators=(",", ":"))
            self._csv.writerow(row)
        elif (pdq := record.value(PDQ.name)) is not None:
            self.out.write(f"{PDQ.name} {pdq}\n")
        elif record.value(VPDQ.name) is not None and (md5 := record.value(MD5.name)) is not None:
            self.out.write(f"video_md5 {md5}\n")
        self.out.flush()
