"""The simulcast layer of a viewer: its ceiling, a slow link steps it down at once, a quiet
spell steps it up one layer at a time."""

from __future__ import annotations

from video.layers import HIGH, LOW, LayerChoice


def test_a_slow_link_steps_down_at_once_and_a_quiet_spell_steps_up_one_at_a_time() -> None:
    choice = LayerChoice(recover_s=10.0)
    assert choice.current == HIGH
    assert choice.slow(100.0) == 1
    assert choice.slow(101.0) == LOW
    assert choice.slow(102.0) is None  # at the bottom already
    assert choice.tick(105.0) is None  # not quiet for long enough
    assert choice.tick(112.0) == 1
    assert choice.tick(115.0) is None  # the next step waits for another quiet spell
    assert choice.tick(122.0) == HIGH
    assert choice.tick(200.0) is None  # at the ceiling


def test_the_viewers_ceiling_caps_what_it_gets_and_recovery_stops_there() -> None:
    choice = LayerChoice(recover_s=10.0)
    assert choice.choose(LOW) == LOW
    assert choice.tick(1000.0) is None
    assert choice.choose(HIGH) == HIGH  # a link never slow goes straight up
    assert choice.slow(1.0) == 1
    # Raising the ceiling while the link recovers does not skip the quiet spell.
    assert choice.choose(HIGH) is None
    assert choice.choose(LOW) == LOW
    assert choice.choose(HIGH) is None
    assert choice.tick(12.0) == 1
