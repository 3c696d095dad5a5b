"""The supervisor's restart policy: at once, then backing off, then giving up."""

from __future__ import annotations

from ops.restart_policy import Decision, History, RestartPolicy, decide

POLICY = RestartPolicy(
    first_delay_s=0.0,
    base_delay_s=0.5,
    max_delay_s=4.0,
    factor=2.0,
    max_restarts=5,
    window_s=60.0,
    stable_after_s=10.0,
)


def _die_quickly(times: int, every_s: float = 1.0) -> list[Decision]:
    """A child that dies ``every_s`` after each start, restarted as the policy says."""
    history, now, decisions = History(), 0.0, []
    for _ in range(times):
        started = now
        now = started + every_s
        decision = decide(POLICY, history, started, now)
        decisions.append(decision)
        history = decision.history
        now += decision.delay_s
    return decisions


def test_the_first_death_is_restarted_at_once() -> None:
    decision = decide(POLICY, History(), started_at=0.0, died_at=100.0)
    assert decision.action == "restart"
    assert decision.delay_s == POLICY.first_delay_s
    assert decision.history.restarts == 1


def test_quick_deaths_in_a_row_back_off_doubling_up_to_the_cap() -> None:
    delays = [d.delay_s for d in _die_quickly(5)]
    assert delays == [0.0, 0.5, 1.0, 2.0, 4.0]


def test_the_delay_never_passes_the_cap() -> None:
    policy = RestartPolicy(max_restarts=100, base_delay_s=0.5, max_delay_s=4.0)
    history, now = History(), 0.0
    for _ in range(20):
        decision = decide(policy, history, now, now + 0.1)
        history, now = decision.history, now + 0.1 + decision.delay_s
        assert decision.delay_s <= policy.max_delay_s
    assert decision.delay_s == policy.max_delay_s


def test_too_many_deaths_in_the_window_give_up() -> None:
    decisions = _die_quickly(POLICY.max_restarts + 1)
    assert [d.action for d in decisions[:-1]] == ["restart"] * POLICY.max_restarts
    assert decisions[-1].action == "give_up"
    assert decisions[-1].history.restarts == POLICY.max_restarts


def test_a_child_that_ran_long_enough_starts_again_without_delay() -> None:
    history = _die_quickly(4)[-1].history
    assert history.quick_in_a_row == 4
    decision = decide(POLICY, history, started_at=1000.0, died_at=1000.0 + POLICY.stable_after_s)
    assert decision.action == "restart"
    assert decision.delay_s == POLICY.first_delay_s
    assert decision.history.quick_in_a_row == 0


def test_deaths_older_than_the_window_are_forgotten() -> None:
    history = _die_quickly(POLICY.max_restarts)[-1].history
    assert len(history.deaths) == POLICY.max_restarts
    late = history.deaths[-1] + POLICY.window_s + 1
    decision = decide(POLICY, history, started_at=late - 0.5, died_at=late)
    assert decision.action == "restart"
    assert decision.history.deaths == (late,)
    assert decision.history.restarts == POLICY.max_restarts + 1
