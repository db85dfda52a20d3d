"""The motion gate reads moving frames, skips still ones, and holds after motion."""

from __future__ import annotations

import numpy as np

from node.ingest.motion import MotionGate, MotionSettings


def frame(value: int, *, block: tuple[int, int] | None = None) -> np.ndarray:
    image = np.full((360, 640, 3), value, dtype=np.uint8)
    if block is not None:
        x, y = block
        image[y : y + 60, x : x + 120] = 255 - value
    return image


def test_the_first_frame_moves_then_a_still_scene_does_not() -> None:
    gate = MotionGate(MotionSettings(hold=0.5))
    assert gate.moving(0.0, frame(40))
    assert gate.moving(0.2, frame(40))  # within the hold
    assert not gate.moving(1.0, frame(40))
    assert not gate.moving(1.2, frame(40))


def test_a_moving_object_is_motion_and_sensor_noise_is_not() -> None:
    gate = MotionGate(MotionSettings(hold=0.0))
    rng = np.random.default_rng(7)
    gate.moving(0.0, frame(40))
    noisy = np.clip(frame(40).astype(int) + rng.integers(-6, 7, (360, 640, 3)), 0, 255)
    assert not gate.moving(1.0, noisy.astype(np.uint8))
    assert gate.moving(2.0, frame(40, block=(100, 100)))
    assert gate.moving(3.0, frame(40, block=(300, 100)))
    assert not gate.moving(4.0, frame(40, block=(300, 100)))


def test_reset_and_a_new_frame_size_count_as_motion() -> None:
    gate = MotionGate(MotionSettings(hold=0.0))
    gate.moving(0.0, frame(40))
    assert not gate.moving(1.0, frame(40))
    gate.reset()
    assert gate.moving(2.0, frame(40))
    assert gate.moving(3.0, np.full((480, 640), 40, dtype=np.uint8))  # another shape
