"""The case state machine (domain/cases.py) against the lifecycle in DESIGN.md §2.

The expected table below is written out by hand from the design, not derived from the module's
own table, so a wrong row in either shows up as a failure.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain.cases import (
    MEASURE_STATES,
    OPEN_STATES,
    CaseEvent,
    CaseState,
    CaseStatus,
    Effect,
    Transition,
    allowed_events,
    apply,
    measures_active,
)
from domain.errors import ErrorCode, InvalidTransition

S = CaseState
E = CaseEvent
X = Effect

BACK = "back to suspended_from"

_OPEN = [
    S.RECEIVED,
    S.INCOMPLETE,
    S.UNDER_REVIEW,
    S.SUSPENDED,
    S.MEASURES_REQUESTED,
    S.MEASURES_APPLIED,
    S.DECLARED,
    S.WAITING,
]
_SUSPENDABLE = [S.UNDER_REVIEW, S.MEASURES_REQUESTED, S.MEASURES_APPLIED, S.DECLARED, S.WAITING]

EXPECTED: dict[tuple[CaseState, CaseEvent], CaseState | str] = {
    (S.RECEIVED, E.COMPLETE_NOTICE): S.UNDER_REVIEW,
    (S.RECEIVED, E.MARK_INCOMPLETE): S.INCOMPLETE,
    (S.UNDER_REVIEW, E.REQUEST_CLARIFICATION): S.INCOMPLETE,
    (S.MEASURES_REQUESTED, E.REVERSE_ON_APPEAL): S.REJECTED,
    (S.MEASURES_APPLIED, E.REVERSE_ON_APPEAL): S.REJECTED,
    (S.DECLARED, E.REVERSE_ON_APPEAL): S.REJECTED,
    (S.WAITING, E.REVERSE_ON_APPEAL): S.REJECTED,
    (S.INCOMPLETE, E.CLARIFY): S.UNDER_REVIEW,
    (S.INCOMPLETE, E.CLARIFICATION_EXPIRED): S.REJECTED,
    (S.UNDER_REVIEW, E.REJECT): S.REJECTED,
    (S.UNDER_REVIEW, E.REQUEST_MEASURES): S.MEASURES_REQUESTED,
    (S.MEASURES_REQUESTED, E.CONFIRM_MEASURES): S.MEASURES_APPLIED,
    (S.MEASURES_REQUESTED, E.MEASURES_FAILED): S.UNDER_REVIEW,
    (S.MEASURES_APPLIED, E.ACCEPT_DECLARATION): S.DECLARED,
    (S.MEASURES_APPLIED, E.SETTLE): S.SETTLED,
    (S.MEASURES_APPLIED, E.DECLARATION_DEADLINE_PASSED): S.CLOSED,
    (S.DECLARED, E.DELIVER_DECLARATION): S.WAITING,
    (S.WAITING, E.ACCEPT_ACTION_PROOF): S.UPHELD,
    (S.WAITING, E.WINDOW_EXPIRED): S.RESTORED,
    (S.SUSPENDED, E.RESUME): BACK,
    (S.RESTORED, E.CLOSE): S.CLOSED,
    (S.UPHELD, E.CLOSE): S.CLOSED,
    (S.SETTLED, E.CLOSE): S.CLOSED,
    (S.REJECTED, E.CLOSE): S.CLOSED,
    (S.WITHDRAWN, E.CLOSE): S.CLOSED,
    (S.CLOSED, E.REOPEN_ON_APPEAL): S.UNDER_REVIEW,
    **{(s, E.SUSPEND): S.SUSPENDED for s in _SUSPENDABLE},
    **{(s, E.WITHDRAW): S.WITHDRAWN for s in _OPEN},
    **{(s, E.INVALIDATE_RIGHT): S.REJECTED for s in _OPEN},
}

# The moves that lift measures in force or drop a request not yet confirmed, written out by hand like
# EXPECTED. Suspension from a measure state (`keep_measures` decides) and the moves out of `suspended`
# and `closed` (the carried flag decides) are spelled out in `lifts` below.
LIFTS: frozenset[tuple[CaseState, CaseEvent]] = frozenset(
    {
        # One measure failed: the case is back under review, so the others of the request go too.
        (S.MEASURES_REQUESTED, E.MEASURES_FAILED),
        (S.MEASURES_REQUESTED, E.SUSPEND),
        (S.WAITING, E.WINDOW_EXPIRED),
        *(
            (s, e)
            for s in (S.MEASURES_REQUESTED, S.MEASURES_APPLIED, S.DECLARED, S.WAITING)
            for e in (E.WITHDRAW, E.INVALIDATE_RIGHT, E.REVERSE_ON_APPEAL)
        ),
    }
)


def lifts(status: CaseStatus, event: CaseEvent, keep: bool) -> bool:
    """Whether taking `event` in `status` must emit LIFT_MEASURES."""
    if event is E.SUSPEND and status.state is not S.MEASURES_REQUESTED:
        return status.measures_active and not keep
    if status.state in (S.SUSPENDED, S.CLOSED):
        return status.measures_active and event is not E.RESUME
    return (status.state, event) in LIFTS


def example_statuses(state: CaseState) -> list[CaseStatus]:
    """Every distinct kind of status a case in `state` can have."""
    if state is S.SUSPENDED:
        return [
            CaseStatus(S.SUSPENDED, origin, kept)
            for origin in _SUSPENDABLE
            for kept in ((False, True) if origin in (S.MEASURES_APPLIED, S.DECLARED, S.WAITING) else (False,))
        ]
    if state is S.CLOSED:
        return [CaseStatus(S.CLOSED, None, False), CaseStatus(S.CLOSED, None, True)]
    return [CaseStatus(state, None, state in (S.MEASURES_APPLIED, S.DECLARED, S.WAITING, S.UPHELD))]


def _all_pairs() -> Iterator[tuple[CaseStatus, CaseEvent]]:
    for state in CaseState:
        for status in example_statuses(state):
            for event in CaseEvent:
                yield status, event


def _id(v: object) -> str:
    if isinstance(v, CaseStatus):
        extra = f"<{v.suspended_from.value}" if v.suspended_from else ""
        return f"{v.state.value}{extra}{'+m' if v.measures_active else ''}"
    return str(getattr(v, "value", v))


@pytest.mark.parametrize(("status", "event"), list(_all_pairs()), ids=_id)
def test_every_state_event_pair(status: CaseStatus, event: CaseEvent) -> None:
    expected = EXPECTED.get((status.state, event))
    if expected is None:
        with pytest.raises(InvalidTransition) as info:
            apply(status, event)
        assert info.value.code is ErrorCode.INVALID_TRANSITION
        assert info.value.state == status.state.value
        assert info.value.event == event.value
        assert event not in allowed_events(status)
        return
    for keep in (True, False):
        t = apply(status, event, keep_measures=keep)
        want = status.suspended_from if expected == BACK else expected
        assert t.status.state is want
        assert t.previous == status
        assert t.event is event
        assert event in allowed_events(status)
        assert (X.LIFT_MEASURES in t.effects) == lifts(status, event, keep)
        if want is S.SUSPENDED:
            assert t.status.suspended_from is status.state
        else:
            assert t.status.suspended_from is None


def test_the_expected_table_covers_the_design() -> None:
    # Sanity on the test itself: 20 events, every one of them used somewhere.
    assert {e for (_, e) in EXPECTED} == set(CaseEvent)
    assert set(_OPEN) == OPEN_STATES
    assert {S.MEASURES_APPLIED, S.DECLARED, S.WAITING, S.UPHELD} == MEASURE_STATES


def test_invalid_transition_message_names_state_and_event() -> None:
    with pytest.raises(InvalidTransition) as info:
        apply(CaseStatus(S.CLOSED), E.WITHDRAW)
    assert str(info.value) == "A case in state 'closed' cannot take event 'withdraw'."


def test_closed_accepts_only_reopen_on_appeal() -> None:
    for status in example_statuses(S.CLOSED):
        assert allowed_events(status) == {E.REOPEN_ON_APPEAL}


def test_measures_active_by_state() -> None:
    for state in CaseState:
        if state in (S.SUSPENDED, S.CLOSED):
            assert measures_active(state, carried=True) is True
            assert measures_active(state, carried=False) is False
        else:
            expected = state in (S.MEASURES_APPLIED, S.DECLARED, S.WAITING, S.UPHELD)
            assert measures_active(state) is expected
            assert measures_active(state, carried=not expected) is expected


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"state": S.SUSPENDED}, "suspended_from"),
        ({"state": S.UNDER_REVIEW, "suspended_from": S.UNDER_REVIEW}, "suspended_from"),
        ({"state": S.SUSPENDED, "suspended_from": S.RECEIVED}, "cannot be suspended"),
        ({"state": S.RESTORED, "measures_active": True}, "impossible"),
        ({"state": S.WAITING, "measures_active": False}, "impossible"),
        ({"state": S.SUSPENDED, "suspended_from": S.UNDER_REVIEW, "measures_active": True}, "none to keep"),
    ],
)
def test_inconsistent_status_is_refused(kwargs: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        CaseStatus(**kwargs)  # type: ignore[arg-type]


# --- scenarios ---------------------------------------------------------------------------------


def run(status: CaseStatus, *events: CaseEvent) -> list[Transition]:
    out = []
    for event in events:
        t = apply(status, event)
        out.append(t)
        status = t.status
    return out


def test_cn_ecl_declaration_window_ends_without_proof_and_listing_is_restored() -> None:
    steps = run(
        CaseStatus(S.RECEIVED),
        E.COMPLETE_NOTICE,
        E.REQUEST_MEASURES,
        E.CONFIRM_MEASURES,
        E.ACCEPT_DECLARATION,
        E.DELIVER_DECLARATION,
        E.WINDOW_EXPIRED,
        E.CLOSE,
    )
    assert [t.status.state for t in steps] == [
        S.UNDER_REVIEW,
        S.MEASURES_REQUESTED,
        S.MEASURES_APPLIED,
        S.DECLARED,
        S.WAITING,
        S.RESTORED,
        S.CLOSED,
    ]
    assert [t.effects for t in steps] == [
        (),
        (X.REQUEST_MEASURES, X.FORWARD_NOTICE),  # forwarded with the measure request (issue 3, ECL 42)
        (X.START_DECLARATION_DEADLINE,),
        (X.CANCEL_DECLARATION_DEADLINE, X.FORWARD_DECLARATION),
        (X.START_WINDOW,),  # on delivery to the rights holder, not on sending (ECL 43)
        (X.LIFT_MEASURES,),
        (),
    ]
    assert [t.status.measures_active for t in steps] == [False, False, True, True, True, False, False]


def test_action_proof_within_window_upholds_and_measures_stay_after_close() -> None:
    steps = run(
        CaseStatus(S.RECEIVED),
        E.MARK_INCOMPLETE,
        E.CLARIFY,
        E.REQUEST_MEASURES,
        E.CONFIRM_MEASURES,
        E.ACCEPT_DECLARATION,
        E.DELIVER_DECLARATION,
        E.ACCEPT_ACTION_PROOF,
        E.CLOSE,
    )
    assert steps[0].effects == (X.REQUEST_CLARIFICATION, X.START_CLARIFICATION_DEADLINE)
    assert steps[1].effects == (X.CANCEL_CLARIFICATION_DEADLINE,)
    upheld, closed = steps[-2], steps[-1]
    assert upheld.status == CaseStatus(S.UPHELD, None, True)
    assert upheld.effects == (X.CANCEL_WINDOW, X.RECORD_STRIKE_CANDIDATE)
    assert closed.status == CaseStatus(S.CLOSED, None, True)
    assert X.LIFT_MEASURES not in closed.effects

    reopened = apply(closed.status, E.REOPEN_ON_APPEAL)
    assert reopened.status == CaseStatus(S.UNDER_REVIEW, None, False)
    assert reopened.effects == (X.LIFT_MEASURES, X.VOID_STRIKE_CANDIDATE, X.UNARCHIVE)


def test_silence_after_measures_closes_with_measures_in_force() -> None:
    applied = run(CaseStatus(S.RECEIVED), E.COMPLETE_NOTICE, E.REQUEST_MEASURES, E.CONFIRM_MEASURES)[-1]
    t = apply(applied.status, E.DECLARATION_DEADLINE_PASSED)
    assert t.status == CaseStatus(S.CLOSED, None, True)
    assert t.effects == (X.RECORD_STRIKE_CANDIDATE,)


def test_settlement_ends_measures_without_restoring_the_listing() -> None:
    applied = run(CaseStatus(S.RECEIVED), E.COMPLETE_NOTICE, E.REQUEST_MEASURES, E.CONFIRM_MEASURES)[-1]
    t = apply(applied.status, E.SETTLE)
    assert t.status == CaseStatus(S.SETTLED, None, False)
    assert X.END_MEASURES in t.effects
    assert X.LIFT_MEASURES not in t.effects


def test_failed_measure_goes_back_to_review_and_lifts_the_others() -> None:
    # With several measures requested, some may already be applied when one fails; a case under
    # review has none in force, so the rest of the request is lifted (or dropped) with it.
    t = run(CaseStatus(S.RECEIVED), E.COMPLETE_NOTICE, E.REQUEST_MEASURES, E.MEASURES_FAILED)[-1]
    assert t.status == CaseStatus(S.UNDER_REVIEW)
    assert t.effects == (X.LIFT_MEASURES,)


def test_suspension_while_waiting_keeps_measures_and_pauses_the_window() -> None:
    waiting = CaseStatus(S.WAITING, None, True)
    suspended = apply(waiting, E.SUSPEND, keep_measures=True)
    assert suspended.status == CaseStatus(S.SUSPENDED, S.WAITING, True)
    assert suspended.effects == (X.PAUSE_DEADLINES,)

    resumed = apply(suspended.status, E.RESUME)
    assert resumed.status == waiting
    assert resumed.effects == (X.RESUME_DEADLINES,)


def test_suspension_that_lifts_measures_reimposes_them_on_resume() -> None:
    applied = CaseStatus(S.MEASURES_APPLIED, None, True)
    suspended = apply(applied, E.SUSPEND, keep_measures=False)
    assert suspended.status == CaseStatus(S.SUSPENDED, S.MEASURES_APPLIED, False)
    assert suspended.effects == (X.PAUSE_DEADLINES, X.LIFT_MEASURES)

    resumed = apply(suspended.status, E.RESUME)
    assert resumed.status == applied
    assert resumed.effects == (X.RESUME_DEADLINES, X.REQUEST_MEASURES)


def test_suspension_from_review_resumes_review() -> None:
    suspended = apply(CaseStatus(S.UNDER_REVIEW), E.SUSPEND)
    assert suspended.status == CaseStatus(S.SUSPENDED, S.UNDER_REVIEW, False)
    resumed = apply(suspended.status, E.RESUME)
    assert resumed.status == CaseStatus(S.UNDER_REVIEW)
    assert resumed.effects == (X.RESUME_DEADLINES,)


def test_suspension_drops_a_pending_measure_request_and_resume_requests_it_again() -> None:
    suspended = apply(CaseStatus(S.MEASURES_REQUESTED), E.SUSPEND, keep_measures=True)
    assert suspended.effects == (X.PAUSE_DEADLINES, X.LIFT_MEASURES)
    resumed = apply(suspended.status, E.RESUME)
    assert resumed.status == CaseStatus(S.MEASURES_REQUESTED)
    assert resumed.effects == (X.RESUME_DEADLINES, X.REQUEST_MEASURES)


def test_right_invalidated_while_suspended_rejects_and_lifts_kept_measures() -> None:
    suspended = CaseStatus(S.SUSPENDED, S.WAITING, True)
    t = apply(suspended, E.INVALIDATE_RIGHT)
    assert t.status == CaseStatus(S.REJECTED)
    assert t.effects == (X.LIFT_MEASURES, X.CANCEL_WINDOW)


@pytest.mark.parametrize("event", [E.WITHDRAW, E.INVALIDATE_RIGHT])
@pytest.mark.parametrize(
    ("status", "undo"),
    [
        (CaseStatus(S.RECEIVED), ()),
        (CaseStatus(S.INCOMPLETE), (X.CANCEL_CLARIFICATION_DEADLINE,)),
        (CaseStatus(S.UNDER_REVIEW), ()),
        (CaseStatus(S.MEASURES_REQUESTED), (X.LIFT_MEASURES,)),
        (CaseStatus(S.MEASURES_APPLIED, None, True), (X.LIFT_MEASURES, X.CANCEL_DECLARATION_DEADLINE)),
        (CaseStatus(S.DECLARED, None, True), (X.LIFT_MEASURES,)),
        (CaseStatus(S.WAITING, None, True), (X.LIFT_MEASURES, X.CANCEL_WINDOW)),
        (CaseStatus(S.SUSPENDED, S.UNDER_REVIEW), ()),
        (CaseStatus(S.SUSPENDED, S.MEASURES_REQUESTED), ()),  # the request was dropped at suspension
        (CaseStatus(S.SUSPENDED, S.MEASURES_APPLIED, False), (X.CANCEL_DECLARATION_DEADLINE,)),
        (CaseStatus(S.SUSPENDED, S.DECLARED, True), (X.LIFT_MEASURES,)),
        (CaseStatus(S.SUSPENDED, S.WAITING, True), (X.LIFT_MEASURES, X.CANCEL_WINDOW)),
    ],
    ids=_id,
)
def test_ending_an_open_case_undoes_what_it_started(
    status: CaseStatus, undo: tuple[Effect, ...], event: CaseEvent
) -> None:
    t = apply(status, event)
    assert t.status == CaseStatus(S.WITHDRAWN if event is E.WITHDRAW else S.REJECTED)
    assert t.effects == undo


# --- stateful property test ----------------------------------------------------------------------

# The deadline each state owns (what the service layer would have a pending row for).
_OWNED_DEADLINE = {S.INCOMPLETE: "clarification", S.MEASURES_APPLIED: "declaration", S.WAITING: "window"}
_DEADLINE_FIRED = {
    E.CLARIFICATION_EXPIRED: "clarification",
    E.DECLARATION_DEADLINE_PASSED: "declaration",
    E.WINDOW_EXPIRED: "window",
}
_START = {
    X.START_CLARIFICATION_DEADLINE: "clarification",
    X.START_DECLARATION_DEADLINE: "declaration",
    X.START_WINDOW: "window",
}
_CANCEL = {
    X.CANCEL_CLARIFICATION_DEADLINE: "clarification",
    X.CANCEL_DECLARATION_DEADLINE: "declaration",
    X.CANCEL_WINDOW: "window",
}


_SHORTCUTS = frozenset(
    {
        E.WITHDRAW,
        E.INVALIDATE_RIGHT,
        E.REJECT,
        E.CLARIFICATION_EXPIRED,
        E.MEASURES_FAILED,
        E.SETTLE,
        E.DECLARATION_DEADLINE_PASSED,
    }
)


class CaseLifecycle(RuleBasedStateMachine):
    """Random event sequences against a model of the outside world the effects drive.

    The model plays the marketplace (is the listing restricted? is a request pending? is part of a
    request of several measures already applied?), the deadline table and the strike ledger using
    only the emitted effects, and checks they always agree with the status the machine reports.
    """

    def __init__(self) -> None:
        super().__init__()
        self.status = CaseStatus(S.RECEIVED)
        self.restricted = False
        self.request_pending = False
        self.partly_applied = False
        self.deadlines: set[str] = set()
        self.paused = False
        self.strike = False

    @rule(data=st.data(), keep=st.booleans())
    def take_an_allowed_event(self, data: st.DataObject, keep: bool) -> None:
        event = data.draw(st.sampled_from(sorted(allowed_events(self.status))))
        self.take(event, keep)

    @rule(data=st.data(), keep=st.booleans())
    def move_deeper(self, data: st.DataObject, keep: bool) -> None:
        """Bias towards the long paths (declaration, window, suspension from late states): with
        only uniform choices most runs end early by withdrawal or rejection."""
        deeper = sorted(allowed_events(self.status) - _SHORTCUTS)
        if deeper:
            self.take(data.draw(st.sampled_from(deeper)), keep)

    @precondition(lambda self: self.status.state is S.MEASURES_REQUESTED)
    @rule()
    def marketplace_applies_one_of_several(self) -> None:
        """One of several requested measures is confirmed applied while others are pending: no case
        event (the case moves when the last one is confirmed), but something is in force."""
        self.partly_applied = True

    @rule(event=st.sampled_from(CaseEvent), keep=st.booleans())
    def take_any_event(self, event: CaseEvent, keep: bool) -> None:
        self.take(event, keep)

    def take(self, event: CaseEvent, keep: bool) -> None:
        before = self.status
        if event not in allowed_events(before):
            with pytest.raises(InvalidTransition) as info:
                apply(before, event, keep_measures=keep)
            assert info.value.code is ErrorCode.INVALID_TRANSITION
            assert self.status == before
            return

        t = apply(before, event, keep_measures=keep)
        assert t.previous == before
        assert len(set(t.effects)) == len(t.effects), "an effect is emitted at most once"
        if before.state is S.SUSPENDED and event is E.RESUME:
            assert t.status.state is before.suspended_from
        if event is E.SUSPEND:
            assert t.status.suspended_from is before.state
            assert t.status.measures_active == (before.measures_active and keep)
        self._play(before, event, t)
        self.status = t.status

    def _play(self, before: CaseStatus, event: CaseEvent, t: Transition) -> None:
        # The marketplace.
        if event is E.CONFIRM_MEASURES:
            assert self.request_pending
            self.restricted, self.request_pending, self.partly_applied = True, False, False
        for fx in t.effects:
            if fx is X.REQUEST_MEASURES:
                assert not self.restricted
                assert not self.request_pending
                assert not self.partly_applied
                if t.status.state in MEASURE_STATES:  # re-imposed on resume
                    self.restricted = True
                else:
                    self.request_pending = True
            elif fx is X.LIFT_MEASURES:
                assert self.restricted or self.request_pending, "nothing to lift"
                self.restricted = self.request_pending = self.partly_applied = False
            elif fx is X.END_MEASURES:
                assert self.restricted
                self.restricted = False
            elif fx in _START:
                assert _START[fx] not in self.deadlines
                self.deadlines.add(_START[fx])
            elif fx in _CANCEL:
                assert _CANCEL[fx] in self.deadlines, f"cancelling a deadline that is not there: {fx}"
                self.deadlines.discard(_CANCEL[fx])
            elif fx is X.PAUSE_DEADLINES:
                assert not self.paused
                self.paused = True
            elif fx is X.RESUME_DEADLINES:
                assert self.paused
                self.paused = False
            elif fx is X.RECORD_STRIKE_CANDIDATE:
                assert not self.strike, "a case records at most one strike candidate"
                self.strike = True
            elif fx is X.VOID_STRIKE_CANDIDATE:
                self.strike = False
            elif fx is X.UNARCHIVE:  # only a closed case is ever archived
                assert before.state is S.CLOSED and t.status.state is not S.CLOSED
        if event is E.MEASURES_FAILED:
            self.request_pending = False  # the failed measure itself ends; the lift took the rest
        if event in _DEADLINE_FIRED:
            fired = _DEADLINE_FIRED[event]
            assert fired in self.deadlines
            assert not self.paused
            self.deadlines.discard(fired)
        if before.state is S.SUSPENDED and event is not E.RESUME:
            # A suspended case that ends drops its paused clocks with it.
            self.paused = False

    @invariant()
    def listing_matches_measures(self) -> None:
        assert self.status.measures_active == self.restricted
        assert self.request_pending == (self.status.state is S.MEASURES_REQUESTED)
        # Part of a request in force is only possible while the rest of it is pending: after a
        # failure (back under review) or any other way out, nothing of it stays on the listing.
        assert not self.partly_applied or self.status.state is S.MEASURES_REQUESTED

    @invariant()
    def deadlines_match_state(self) -> None:
        owner = self.status.suspended_from or self.status.state
        expected = {_OWNED_DEADLINE[owner]} if owner in _OWNED_DEADLINE else set()
        assert self.deadlines == expected
        assert self.paused == (self.status.state is S.SUSPENDED)

    @invariant()
    def outcomes(self) -> None:
        state = self.status.state
        if state in (S.RESTORED, S.WITHDRAWN, S.REJECTED, S.SETTLED):
            assert not self.status.measures_active
        if state is S.UPHELD:
            assert self.status.measures_active
        if state in (S.UPHELD, S.SETTLED):
            assert self.strike
        if state in (S.RECEIVED, S.INCOMPLETE, S.UNDER_REVIEW, S.MEASURES_REQUESTED):
            assert not self.strike
        if state is S.CLOSED:
            assert allowed_events(self.status) == {E.REOPEN_ON_APPEAL}
        if state not in OPEN_STATES:
            assert E.WITHDRAW not in allowed_events(self.status)

    @precondition(lambda self: self.status.state is S.SUSPENDED)
    @rule()
    def suspended_returns_where_it_came_from(self) -> None:
        origin = self.status.suspended_from
        back = apply(self.status, E.RESUME).status
        assert back.state is origin
        assert back.measures_active == (origin in MEASURE_STATES)


CaseLifecycle.TestCase.settings = settings(
    max_examples=200, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestCaseLifecycle = CaseLifecycle.TestCase
