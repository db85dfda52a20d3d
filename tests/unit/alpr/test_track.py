"""Tracking plates across frames and voting one read per vehicle pass."""

from __future__ import annotations

import pytest

from node.alpr.geometry import Box
from node.alpr.reads import Candidate, PlateRead
from node.alpr.track import PlateTracker, Sighting, TrackerSettings, vote, vote_passes


def plate(x: float, *candidates: tuple[str, float], y: float = 100.0) -> PlateRead:
    return PlateRead(
        Box(x, y, 80.0, 40.0), tuple(Candidate(text, text, conf) for text, conf in candidates)
    )


def test_one_plate_over_frames_is_one_pass_with_the_voted_text() -> None:
    frames = [
        (0.0, [plate(100, ("ABC1234", 0.9), ("ABC1Z34", 0.4))]),
        (0.1, [plate(110, ("A8C1234", 0.6), ("ABC1234", 0.5))]),
        (0.2, [plate(120, ("ABC1234", 0.8))]),
        (0.3, [plate(130, ("ABC1Z34", 0.7))]),
    ]
    (vehicle,) = vote_passes(frames)
    assert vehicle.text == "ABC1234"
    assert vehicle.frames == 4
    assert (vehicle.first_seen, vehicle.last_seen) == (0.0, 0.3)
    assert vehicle.confidence == pytest.approx((0.9 + 0.5 + 0.8) / 4)
    assert vehicle.best.at == 0.0
    assert [c.text for c in vehicle.candidates][:2] == ["ABC1234", "ABC1Z34"]


def test_vote_is_weighted_by_confidence() -> None:
    sightings = [
        Sighting(0.0, plate(0, ("AAA111", 0.3))),
        Sighting(0.1, plate(0, ("AAA111", 0.3))),
        Sighting(0.2, plate(0, ("BBB222", 0.95))),
    ]
    assert vote(sightings)[0].text == "BBB222"


def test_vote_ties_are_deterministic_and_empty_vote_refused() -> None:
    sightings = [Sighting(0.0, plate(0, ("ZZZ999", 0.5), ("AAA111", 0.5)))]
    assert vote(sightings)[0].text == "AAA111"
    with pytest.raises(ValueError, match="no sightings"):
        vote([])


def test_two_plates_in_the_same_frames_are_two_passes() -> None:
    frames = [
        (t / 10, [plate(100 + t, ("ABC1234", 0.9)), plate(900 - t, ("XYZ987", 0.8))])
        for t in range(5)
    ]
    passes = vote_passes(frames)
    assert sorted(p.text for p in passes) == ["ABC1234", "XYZ987"]
    assert all(p.frames == 5 for p in passes)


def test_a_gap_longer_than_max_gap_starts_a_new_pass() -> None:
    frames = [(0.0, [plate(100, ("ABC1234", 0.9))]), (5.0, [plate(100, ("ABC1234", 0.9))])]
    passes = vote_passes(frames, TrackerSettings(max_gap=1.5))
    assert [(p.first_seen, p.frames) for p in passes] == [(0.0, 1), (5.0, 1)]


def test_agreeing_text_links_a_jump_in_position() -> None:
    frames = [(0.0, [plate(100, ("ABC1234", 0.9))]), (0.1, [plate(700, ("ABC1234", 0.8))])]
    (vehicle,) = vote_passes(frames)
    assert vehicle.frames == 2


def test_distant_different_read_is_another_vehicle() -> None:
    frames = [(0.0, [plate(100, ("ABC1234", 0.9))]), (0.1, [plate(700, ("XYZ987", 0.8))])]
    assert len(vote_passes(frames)) == 2


def test_update_returns_passes_once_they_have_ended() -> None:
    tracker = PlateTracker(TrackerSettings(max_gap=1.0))
    assert tracker.update(0.0, [plate(100, ("ABC1234", 0.9))]) == []
    assert tracker.update(0.5, []) == []
    (ended,) = tracker.update(2.0, [plate(400, ("XYZ987", 0.9))])
    assert ended.text == "ABC1234"
    (last,) = tracker.flush()
    assert last.text == "XYZ987"
    assert tracker.flush() == []


def test_min_frames_drops_single_frame_noise() -> None:
    frames = [
        (0.0, [plate(100, ("ABC1234", 0.9)), plate(600, ("NOISE1", 0.4))]),
        (0.1, [plate(105, ("ABC1234", 0.9))]),
    ]
    (vehicle,) = vote_passes(frames, TrackerSettings(min_frames=2))
    assert vehicle.text == "ABC1234"


def test_frames_must_not_go_back_in_time() -> None:
    tracker = PlateTracker()
    tracker.update(1.0, [])
    with pytest.raises(ValueError, match="older"):
        tracker.update(0.5, [])
