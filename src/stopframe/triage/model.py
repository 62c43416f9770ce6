"""What triage learns about a collection: each file, each group of copies, the time ranges one
recording shares with another, and the list entries that make a group known.

These are plain records: hashing (`collect`), grouping (`groups`), the list check (`known`) and
the reports (`report`) each fill or read them, and none of them needs another's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stopframe.matching.segments import Segment

IMAGE = "image"
VIDEO = "video"

# What a group is, once grouped
PICTURE = "picture"  # copies of one picture (exact, re-encoded, resized, cropped, mirrored ...)
RECORDING = "recording"  # copies of one recording, with its trims and excerpts
COMPILATION = "compilation"  # a video made (mostly) of parts of other recordings

# How a file relates to its group's representative
REPRESENTATIVE = "representative"
EXACT_COPY = "exact copy"  # same SHA-256
NEAR_DUPLICATE = "near duplicate"  # re-encode, resize, crop, pad, mirror, screenshot, trim
EXCERPT = "excerpt"  # a clip mostly inside a longer recording of the group


@dataclass(slots=True)
class TriageFile:
    """One file of the collection. `number` is its place in the sorted list of all files, so it
    does not depend on the order the folders were given in."""

    number: int
    path: str
    size: int
    status: str  # ok, partial, error, skipped (not media)
    media_type: str | None = None  # image, video, or None when unreadable / not media
    format: str | None = None
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    quality: int | None = None
    robust: str | None = None  # the registration set (pdq_robust value)
    robust_query: str | None = None  # the query set: dihedral variants and window regions
    vpdq: str | None = None  # vPDQ lines
    vpdq_mirror: str | None = None  # vPDQ lines of the frames mirrored left-right (videos)
    vpdq_crops: str | None = None  # vpdq_robust lines of the frames' crops (videos, on request)
    error: str | None = None
    group_id: str | None = None
    relation: str | None = None  # REPRESENTATIVE, EXACT_COPY, NEAR_DUPLICATE, EXCERPT

    @property
    def groupable(self) -> bool:
        """Whether the file is media that was read (a partial video keeps the frames read)."""
        return self.media_type in (IMAGE, VIDEO) and self.status in ("ok", "partial")


@dataclass(frozen=True, slots=True)
class Overlap:
    """Parts of group `other` found inside this group's representative (`segments` times are
    this group's first, the other's second)."""

    other: str
    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class KnownMatch:
    """A list entry one member of a group matched."""

    source: str  # the list store or partner file it came from
    bank: str
    kind: str  # the signal type that matched
    entry_id: int
    distance: int
    category: str | None = None
    file_number: int = -1  # the member that matched


@dataclass(slots=True)
class Group:
    """Files that are copies of one picture or one recording, under an id that depends only on
    its members (`P-`/`V-` and the start of the representative's SHA-256)."""

    id: str
    media_type: str
    kind: str  # PICTURE, RECORDING or COMPILATION
    members: list[int]  # file numbers, ascending
    representative: int
    known: list[KnownMatch] = field(default_factory=list)
    contains: list[Overlap] = field(default_factory=list)  # other groups' parts inside this one
    frame_of: list[str] = field(default_factory=list)  # video groups a picture is a frame of

    @property
    def is_known(self) -> bool:
        return bool(self.known)


@dataclass(slots=True)
class TriageResult:
    """A triaged collection: every file (by number), its groups, and the run's figures."""

    files: list[TriageFile]
    groups: list[Group]
    lists: list[str] = field(default_factory=list)  # the list sources checked, by name
    cached: int = 0  # files whose hashes came from the cache
    seconds: float = 0.0

    def group(self, group_id: str) -> Group:
        """The group called `group_id` (KeyError when there is none)."""
        for item in self.groups:
            if item.id == group_id:
                return item
        raise KeyError(group_id)

    def summary(self) -> dict[str, object]:
        """The figures `summary.json` and the terminal show."""
        errors = sum(1 for f in self.files if f.status == "error")
        pictures = [g for g in self.groups if g.media_type == IMAGE]
        videos = [g for g in self.groups if g.media_type == VIDEO]
        recordings = [g for g in videos if g.kind != COMPILATION]
        return {
            "files": len(self.files),
            "images": sum(1 for f in self.files if f.media_type == IMAGE and f.groupable),
            "videos": sum(1 for f in self.files if f.media_type == VIDEO and f.groupable),
            "errors": errors,
            "skipped": sum(1 for f in self.files if f.status == "skipped"),
            "distinct_images": len(pictures),
            "distinct_videos": len(recordings),
            "compilations": len(videos) - len(recordings),
            "groups": len(self.groups),
            "known_groups": sum(1 for g in self.groups if g.is_known),
            "new_groups": sum(1 for g in self.groups if not g.is_known),
            "lists": list(self.lists),
            "cached_files": self.cached,
            "seconds": round(self.seconds, 3),
        }
