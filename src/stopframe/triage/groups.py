"""Group a hashed collection: exact copies (SHA-256), near-duplicate pictures (robust sets,
`pictures`), copies, trims and excerpts of recordings and compilations (`recordings`), and
pictures that are frames of a video. Groups are the connected parts of those edges, so the result
does not depend on the order of the files; each gets an id made from its representative's
SHA-256, so the same copies get the same id in every run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from stopframe.matching.segments import find_segments
from stopframe.signals import PDQ
from stopframe.triage.model import (
    COMPILATION,
    EXACT_COPY,
    EXCERPT,
    IMAGE,
    NEAR_DUPLICATE,
    PICTURE,
    RECORDING,
    REPRESENTATIVE,
    VIDEO,
    Group,
    Overlap,
    TriageFile,
)
from stopframe.triage.pictures import picture_edges
from stopframe.triage.recordings import (
    CROP_DISTANCE,
    INSIDE,
    SAME_LONGER,
    RecordingGroups,
    VideoFrames,
    crop_frames,
    group_recordings,
    video_frames,
)
from stopframe.triage.unions import DisjointSets

MAX_OVERLAPS = 50  # other groups listed inside one recording
ID_DIGITS = 12  # hex digits of the representative's SHA-256 in a group id (more on a clash)


def group_files(files: Sequence[TriageFile]) -> list[Group]:
    """The groups of the readable media among `files`, sorted by id; sets each member's
    `group_id` and `relation`."""
    members = [f for f in files if f.groupable]
    sets = DisjointSets(len(members))
    _join_exact(members, sets)
    pictures = np.array([i for i, f in enumerate(members) if f.media_type == IMAGE], np.int64)
    for a, b in picture_edges([members[i] for i in pictures]):
        sets.union_pairs(pictures[a], pictures[b])
    videos = np.array([i for i, f in enumerate(members) if f.media_type == VIDEO], np.int64)
    frames = [video_frames(members[i]) for i in videos]
    mirrors = [video_frames(members[i], mirrored=True) for i in videos]
    with_crops = any(members[i].vpdq_crops for i in videos)
    crops = [crop_frames(members[i]) for i in videos] if with_crops else []
    recordings = group_recordings(frames, mirrors, crops)
    sets.union_pairs(videos, videos[recordings.labels])
    labels = sets.labels()
    video_of = {int(member): k for k, member in enumerate(videos)}  # member position -> video
    groups = _assemble(members, labels, video_of, recordings)
    by_member = {m: g for g in groups for m in g.members}
    number_at = {f.number: i for i, f in enumerate(members)}
    for group in groups:
        if group.media_type == VIDEO:
            rep = video_of[number_at[group.representative]]
            group.contains = _overlaps(
                rep, group, (frames, mirrors, crops), recordings, videos, members, by_member
            )
    _frames_of(members, pictures, videos, recordings, groups, by_member)
    return sorted(groups, key=lambda g: g.id)


def _join_exact(members: Sequence[TriageFile], sets: DisjointSets) -> None:
    first: dict[str, int] = {}
    for i, item in enumerate(members):
        if item.sha256:
            sets.union(first.setdefault(item.sha256, i), i)


def _rank(item: TriageFile) -> tuple[float, ...]:
    """Which member represents a group: the longest, then one without added borders (its
    robust set has no "untrimmed" variant), then the largest, the best, the first by path."""
    area = (item.width or 0) * (item.height or 0)
    bordered = "\nuntrimmed," in (item.robust or "")
    return (item.duration_s or 0.0, not bordered, area, item.quality or 0, -item.number)


def _assemble(
    members: Sequence[TriageFile],
    labels: np.ndarray,
    video_of: dict[int, int],
    recordings: RecordingGroups,
) -> list[Group]:
    parts: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels.tolist()):
        parts[label].append(i)
    groups = []
    for positions in parts.values():
        rep = max(positions, key=lambda i: _rank(members[i]))
        head = members[rep]
        if head.media_type == IMAGE:
            kind = PICTURE
        else:
            kind = COMPILATION if recordings.compilation[video_of[rep]] else RECORDING
        group = Group(
            id="",
            media_type=head.media_type or IMAGE,
            kind=kind,
            members=sorted(members[i].number for i in positions),
            representative=head.number,
        )
        for i in positions:
            members[i].relation = _relation(members[i], head, video_of, i, rep, recordings)
        groups.append(group)
    _name_groups(groups, {f.number: f for f in members})
    return groups


def _name_groups(groups: list[Group], by_number: dict[int, TriageFile]) -> None:
    """Give each group its id: `P-`/`V-` and the first 12 hex digits of its representative's
    SHA-256, longer for the groups whose first 12 digits coincide (each representative has its
    own SHA-256, since equal bytes are one group)."""
    width = {id(g): ID_DIGITS for g in groups}
    while True:
        named: dict[str, list[Group]] = defaultdict(list)
        for group in groups:
            head = by_number[group.representative]
            prefix = "P-" if group.media_type == IMAGE else "V-"
            group.id = prefix + (head.sha256 or f"{head.number:064x}")[: width[id(group)]]
            named[group.id].append(group)
        clashes = [g for same in named.values() if len(same) > 1 for g in same]
        if not clashes or max(width.values()) >= 64:
            break
        for group in clashes:
            width[id(group)] += 4
    for group in groups:
        for number in group.members:
            by_number[number].group_id = group.id


def _relation(
    item: TriageFile,
    head: TriageFile,
    video_of: dict[int, int],
    position: int,
    rep: int,
    recordings: RecordingGroups,
) -> str:
    if item is head:
        return REPRESENTATIVE
    if item.sha256 == head.sha256:
        return EXACT_COPY
    if item.media_type == VIDEO:
        a, b = video_of[position], video_of[rep]
        inside = recordings.coverage.get((a, b), 0.0)
        if inside >= INSIDE and recordings.coverage.get((b, a), 0.0) < SAME_LONGER:
            return EXCERPT
    return NEAR_DUPLICATE


def _overlaps(
    rep: int,
    group: Group,
    views: tuple[Sequence[VideoFrames], Sequence[VideoFrames], Sequence[Sequence[VideoFrames]]],
    recordings: RecordingGroups,
    videos: np.ndarray,
    members: Sequence[TriageFile],
    by_member: dict[int, Group],
) -> list[Overlap]:
    """Where parts of other groups appear in this group's representative: per other group, the
    member sharing most with it, aligned frame by frame (through the representative's mirrored
    frames when its plain ones align with none, then through the member's crops)."""
    frames, mirrors, crops = views
    best: dict[str, tuple[float, int]] = {}
    for (a, b), share in recordings.coverage.items():
        if a != rep:
            continue
        other = by_member[members[int(videos[b])].number]
        if other is group:
            continue
        if other.id not in best or share > best[other.id][0]:
            best[other.id] = (share, b)
    ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[:MAX_OVERLAPS]
    out = []
    for other_id, (_share, b) in ranked:
        segments = find_segments(frames[rep].frames, frames[b].frames) or find_segments(
            mirrors[rep].frames, frames[b].frames
        )
        for crop in crops[b] if crops and not segments else ():
            segments = find_segments(frames[rep].frames, crop.frames, distance=CROP_DISTANCE)
            if segments:
                break
        if segments:
            out.append(Overlap(other_id, tuple(segments)))
    return sorted(out, key=lambda o: (o.segments[0].start_s, o.other))


def _frames_of(
    members: Sequence[TriageFile],
    pictures: np.ndarray,
    videos: np.ndarray,
    recordings: RecordingGroups,
    groups: list[Group],
    by_member: dict[int, Group],
) -> None:
    """Link picture groups to the video groups they are a frame of (PDQ within the frame
    distance of a good frame), searched in the frame index grouping the videos built."""
    usable = [
        int(i)
        for i in pictures
        if members[i].pdq and (members[i].quality or 0) >= PDQ.quality_floor
    ]
    index, owner = recordings.frame_index, recordings.frame_owner
    if not usable or index is None:
        return
    queries = np.frombuffer(
        b"".join(bytes.fromhex(members[i].pdq or "") for i in usable), np.uint8
    ).reshape(-1, 32)
    found = index.range_search_batch(queries, PDQ.default_threshold)
    links: dict[str, set[str]] = defaultdict(set)
    for q, row in zip(found.query_index().tolist(), found.ids.tolist(), strict=True):
        picture = by_member[members[usable[q]].number]
        video = by_member[members[int(videos[owner[row]])].number]
        links[picture.id].add(video.id)
    for group in groups:
        group.frame_of = sorted(links.get(group.id, ()))
