"""Investigator side: how many distinct pictures and recordings a seized collection holds, which
are copies of which, and which are already on a hash list.

    from stopframe.triage import TriageOptions, run_triage, write_reports
    result = run_triage(["/mnt/evidence"], TriageOptions(jobs=2))
    write_reports(result, Path("triage-report"))

Data flow: `collect` (list, hash, cache) -> `groups` (`pictures`, `recordings`) -> `known`
(lists) -> `report` (CSV, VICS JSON, HTML).
"""

from stopframe.triage.model import Group, KnownMatch, Overlap, TriageFile, TriageResult
from stopframe.triage.run import TriageOptions, run_triage

__all__ = [
    "Group",
    "KnownMatch",
    "Overlap",
    "TriageFile",
    "TriageOptions",
    "TriageResult",
    "run_triage",
]
