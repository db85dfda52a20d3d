"""One read per vehicle pass: follow a plate across frames, then vote.

A camera sees a passing plate in many frames, read a little differently in each. The
tracker links each frame's reads to the plate tracks still open (the boxes overlap or lie
close, or the reads agree on a spelling) and closes a track once it has not been seen
for ``max_gap`` seconds. Its pass is then decided by a confidence-weighted vote: every
frame gives each of its candidates its confidence, and the spelling with the most weight
wins. Pure logic, no clock of its own: times are the frames' timestamps::

    tracker = PlateTracker()
    for at, frame in frames:
        for vehicle in tracker.update(at, reader.read(frame)):
            store(vehicle)
    for vehicle in tracker.flush():
        store(vehicle)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from node.alpr.reads import Candidate, PlateRead


@dataclass(frozen=True, slots=True)
class TrackerSettings:
    #: A track not seen for longer than this (seconds) is a finished pass.
    max_gap: float = 1.5
    #: Boxes overlapping by at least this IoU show the same plate...
    min_iou: float = 0.1
    #: ...and so do boxes whose centres are closer than this many box widths.
    max_shift: float = 1.5
    #: Passes seen in fewer frames than this are dropped as noise.
    min_frames: int = 1
    #: At most this many candidates per pass.
    candidates: int = 10


@dataclass(frozen=True, slots=True)
class Sighting:
    """One frame's read of a tracked plate."""

    at: float
    read: PlateRead


@dataclass(frozen=True, slots=True)
class VehiclePass:
    """The voted read of one plate over the frames that saw it.

    ``confidence`` is the winning spelling's weight divided by the number of frames: 1
    when every frame read it with certainty. ``best`` is the sighting that read the winner
    most confidently (its box and frame are the ones to keep as evidence).
    """

    candidates: tuple[Candidate, ...]
    first_seen: float
    last_seen: float
    frames: int
    best: Sighting

    @property
    def text(self) -> str:
        return self.candidates[0].text

    @property
    def raw(self) -> str:
        return self.candidates[0].raw

    @property
    def confidence(self) -> float:
        return self.candidates[0].confidence


@dataclass(slots=True)
class _Track:
    sightings: list[Sighting] = field(default_factory=list)

    @property
    def last(self) -> Sighting:
        return self.sightings[-1]

    def leader(self) -> str:
        return vote(self.sightings, 1)[0].text


class PlateTracker:
    """Links per-frame reads into tracks and votes each finished track into a pass."""

    def __init__(self, settings: TrackerSettings | None = None) -> None:
        self.settings = settings or TrackerSettings()
        self._open: list[_Track] = []
        self._now: float | None = None

    def update(self, at: float, reads: Sequence[PlateRead]) -> list[VehiclePass]:
        """Add one frame's reads (at time ``at``); return the passes that ended before it.

        Frames MUST come in non-decreasing time order.
        """
        if self._now is not None and at < self._now:
            raise ValueError(f"frame at {at} is older than the previous one at {self._now}")
        self._now = at
        done = [t for t in self._open if at - t.last.at > self.settings.max_gap]
        self._open = [t for t in self._open if t not in done]
        pairs = sorted(
            (
                (affinity, ti, ri)
                for ti, track in enumerate(self._open)
                for ri, read in enumerate(reads)
                if (affinity := self._affinity(track, read)) > 0
            ),
            reverse=True,
        )
        used_tracks: set[int] = set()
        used_reads: set[int] = set()
        for _, ti, ri in pairs:
            if ti in used_tracks or ri in used_reads:
                continue
            self._open[ti].sightings.append(Sighting(at, reads[ri]))
            used_tracks.add(ti)
            used_reads.add(ri)
        for ri, read in enumerate(reads):
            if ri not in used_reads:
                self._open.append(_Track([Sighting(at, read)]))
        return self._finish(done)

    def oldest_open(self) -> float | None:
        """The first sighting time of the oldest track still open, or ``None``.

        Every pass that will still be reported began at or after this time: a resumable
        ingest may restart here and lose nothing.
        """
        return min((t.sightings[0].at for t in self._open), default=None)

    def flush(self) -> list[VehiclePass]:
        """End every open track (at the end of a video or stream) and return their passes."""
        done, self._open = self._open, []
        return self._finish(done)

    def _affinity(self, track: _Track, read: PlateRead) -> float:
        """How surely ``read`` continues ``track``: 0 when it does not."""
        last = track.last.read
        iou = last.box.iou(read.box)
        (ax, ay), (bx, by) = last.box.center, read.box.center
        width = max(last.box.w, read.box.w, 1.0)
        shift = ((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 / width
        near = iou >= self.settings.min_iou or shift <= self.settings.max_shift
        agree = bool({c.text for c in read.candidates[:3]} & {track.leader()})
        if not near and not agree:
            return 0.0
        return float(iou + (1.0 if agree else 0.0) + max(0.0, 1.0 - shift / 4))

    def _finish(self, tracks: Iterable[_Track]) -> list[VehiclePass]:
        out = [
            vehicle_pass(t.sightings, self.settings.candidates)
            for t in tracks
            if len(t.sightings) >= self.settings.min_frames
        ]
        out.sort(key=lambda p: p.first_seen)
        return out


def vote(sightings: Sequence[Sighting], limit: int = 10) -> tuple[Candidate, ...]:
    """Confidence-weighted vote over the sightings' candidates, best first.

    A spelling's confidence is its summed confidence divided by the number of sightings;
    its raw string is the one of its most confident sighting.
    """
    if not sightings:
        raise ValueError("cannot vote over no sightings")
    weight: dict[str, float] = {}
    raw: dict[str, tuple[float, str]] = {}
    for sighting in sightings:
        for candidate in sighting.read.candidates:
            weight[candidate.text] = weight.get(candidate.text, 0.0) + candidate.confidence
            if candidate.confidence > raw.get(candidate.text, (-1.0, ""))[0]:
                raw[candidate.text] = (candidate.confidence, candidate.raw)
    ranked = sorted(weight.items(), key=lambda item: (-item[1], item[0]))[:limit]
    n = len(sightings)
    return tuple(Candidate(text, raw[text][1], min(w / n, 1.0)) for text, w in ranked)


def vehicle_pass(sightings: Sequence[Sighting], limit: int = 10) -> VehiclePass:
    """The pass of one track: the vote, its time span, and the best sighting of the winner."""
    candidates = vote(sightings, limit)
    winner = candidates[0].text

    def support(s: Sighting) -> float:
        return max((c.confidence for c in s.read.candidates if c.text == winner), default=0.0)

    return VehiclePass(
        candidates=candidates,
        first_seen=min(s.at for s in sightings),
        last_seen=max(s.at for s in sightings),
        frames=len(sightings),
        best=max(sightings, key=support),
    )


def vote_passes(
    frames: Iterable[tuple[float, Sequence[PlateRead]]], settings: TrackerSettings | None = None
) -> list[VehiclePass]:
    """All passes of a finished sequence of ``(time, reads)`` frames, in order of appearance."""
    tracker = PlateTracker(settings)
    out: list[VehiclePass] = []
    for at, reads in frames:
        out.extend(tracker.update(at, reads))
    out.extend(tracker.flush())
    out.sort(key=lambda p: p.first_seen)
    return out
