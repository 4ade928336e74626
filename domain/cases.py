"""The case state machine: one (notice, listing) pair moving through the lifecycle (DESIGN.md §2).

Pure: no I/O, no clock. `apply` takes the current `CaseStatus` and a `CaseEvent` and returns the
next status plus the `Effect`s the service layer turns into outbox messages and deadline rows in
the same transaction (transactional outbox). Whether an event is *allowed* by the tenant's
policy (who may decide, auto-decisions, which measure) is decided elsewhere; this module only
knows which moves exist.

Two facts cannot be read from the state alone, so `CaseStatus` records them:
- `suspended_from`: where a suspended case returns to when the ground for suspension ends;
- `measures_active`: whether measures are in force. It follows the state everywhere except in
  `suspended` (the tenant chooses, per suspension, whether measures stay) and `closed` (a case
  closed after `upheld` or an unanswered notice keeps its measures for good; one closed after
  `restored`, `settled`, `rejected` or `withdrawn` has none).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.errors import InvalidTransition

__all__ = [
    "MEASURE_STATES",
    "OPEN_STATES",
    "SUSPENDABLE_STATES",
    "CaseEvent",
    "CaseState",
    "CaseStatus",
    "Effect",
    "Transition",
    "allowed_events",
    "apply",
    "measures_active",
]


class CaseState(StrEnum):
    RECEIVED = "received"
    INCOMPLETE = "incomplete"
    UNDER_REVIEW = "under_review"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    MEASURES_REQUESTED = "measures_requested"
    MEASURES_APPLIED = "measures_applied"
    DECLARED = "declared"
    WAITING = "waiting"
    UPHELD = "upheld"
    RESTORED = "restored"
    SETTLED = "settled"
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"


class CaseEvent(StrEnum):
    COMPLETE_NOTICE = "complete_notice"
    MARK_INCOMPLETE = "mark_incomplete"
    REQUEST_CLARIFICATION = "request_clarification"
    CLARIFY = "clarify"
    CLARIFICATION_EXPIRED = "clarification_expired"
    REJECT = "reject"
    SUSPEND = "suspend"
    RESUME = "resume"
    REQUEST_MEASURES = "request_measures"
    CONFIRM_MEASURES = "confirm_measures"
    MEASURES_FAILED = "measures_failed"
    ACCEPT_DECLARATION = "accept_declaration"
    DELIVER_DECLARATION = "deliver_declaration"
    ACCEPT_ACTION_PROOF = "accept_action_proof"
    WINDOW_EXPIRED = "window_expired"
    SETTLE = "settle"
    WITHDRAW = "withdraw"
    DECLARATION_DEADLINE_PASSED = "declaration_deadline_passed"
    CLOSE = "close"
    REOPEN_ON_APPEAL = "reopen_on_appeal"
    INVALIDATE_RIGHT = "invalidate_right"
    REVERSE_ON_APPEAL = "reverse_on_appeal"


class Effect(StrEnum):
    """What the service layer must do besides recording the state change and its decision.

    A transition with nothing extra to do has an empty effects tuple (there is no NONE member).
    Every state change already gets a decision record and a `case.state_changed` notification;
    effects are the specific actions on top of that.
    """

    REQUEST_MEASURES = "request_measures"
    """Ask the marketplace to apply the measure (webhook); it confirms with `confirm_measures`.
    On `resume` after a suspension that lifted measures, the case is back in its measures state at
    once and the re-application is tracked on the Measure row, not by the case state."""
    LIFT_MEASURES = "lift_measures"
    """Tell the marketplace to lift measures in force, or to drop a request not yet confirmed."""
    END_MEASURES = "end_measures"
    """Record the measures as ended WITHOUT restoring the listing: the merchant removed it itself."""
    FORWARD_NOTICE = "forward_notice"
    """Forward the notice and statement of reasons to the merchant (ECL 42, DSA Art 17)."""
    FORWARD_DECLARATION = "forward_declaration"
    """Forward the accepted declaration to the complainant and track its delivery (ECL 43)."""
    REQUEST_CLARIFICATION = "request_clarification"
    """Ask the notifier to complete the notice."""
    START_CLARIFICATION_DEADLINE = "start_clarification_deadline"
    CANCEL_CLARIFICATION_DEADLINE = "cancel_clarification_deadline"
    START_DECLARATION_DEADLINE = "start_declaration_deadline"
    """The merchant's time to declare non-infringement; if it passes, the measures stand."""
    CANCEL_DECLARATION_DEADLINE = "cancel_declaration_deadline"
    START_WINDOW = "start_window"
    """The waiting window (ECL 43: 15 days from delivery; DMCA 10-14 business days)."""
    CANCEL_WINDOW = "cancel_window"
    PAUSE_DEADLINES = "pause_deadlines"
    """Suspension of handling stops the case's clocks; they run on from where they stopped."""
    RESUME_DEADLINES = "resume_deadlines"
    RECORD_STRIKE_CANDIDATE = "record_strike_candidate"
    """The merchant's listing ended up restricted on the merits; the repeat-infringer rule decides
    whether it counts as a strike."""
    VOID_STRIKE_CANDIDATE = "void_strike_candidate"
    """The case is being decided again: any strike candidate it recorded no longer stands."""
    UNARCHIVE = "unarchive"
    """The case is being decided again: if it was archived, it is not any more. Its bundle stays (immutable)
    as the record up to now; when the case closes again it is archived again, into a new bundle. Applied
    to the case itself, in the same write as its new state."""


# Short aliases so the tables below read as tables.
S = CaseState
E = CaseEvent
X = Effect

OPEN_STATES: frozenset[CaseState] = frozenset(
    {
        S.RECEIVED,
        S.INCOMPLETE,
        S.UNDER_REVIEW,
        S.SUSPENDED,
        S.MEASURES_REQUESTED,
        S.MEASURES_APPLIED,
        S.DECLARED,
        S.WAITING,
    }
)
"""States in which the case is still being handled: it can be withdrawn or lose its right."""

SUSPENDABLE_STATES: frozenset[CaseState] = frozenset(
    {S.UNDER_REVIEW, S.MEASURES_REQUESTED, S.MEASURES_APPLIED, S.DECLARED, S.WAITING}
)
"""Handling can be suspended once review has started (the Beijing guideline's suspension is a
decision on evidence, so it needs a complete notice under review or later)."""

MEASURE_STATES: frozenset[CaseState] = frozenset({S.MEASURES_APPLIED, S.DECLARED, S.WAITING, S.UPHELD})
"""States in which measures are in force by definition. ECL 43 keeps them during the window."""

_CARRIED_STATES: frozenset[CaseState] = frozenset({S.SUSPENDED, S.CLOSED})


def measures_active(state: CaseState, *, carried: bool = False) -> bool:
    """Whether measures are in force in `state`.

    For `suspended` and `closed` the state does not tell, so the answer is `carried`: the value
    recorded when the case entered that state (`CaseStatus.measures_active`). Everywhere else
    `carried` is ignored. `measures_requested` is not active: nothing is in force until the
    marketplace confirms.
    """
    if state in _CARRIED_STATES:
        return carried
    return state in MEASURE_STATES


@dataclass(frozen=True)
class CaseStatus:
    """Everything the state machine needs to know about a case. Validated on construction, so an
    inconsistent row loaded from storage fails loudly instead of taking a wrong transition."""

    state: CaseState
    suspended_from: CaseState | None = None
    measures_active: bool = False

    def __post_init__(self) -> None:
        if (self.state is S.SUSPENDED) != (self.suspended_from is not None):
            raise ValueError("suspended_from is set exactly when the case is suspended")
        if self.suspended_from is not None and self.suspended_from not in SUSPENDABLE_STATES:
            raise ValueError(f"a case cannot be suspended from '{self.suspended_from.value}'")
        if self.measures_active != measures_active(self.state, carried=self.measures_active):
            raise ValueError(f"measures_active={self.measures_active} is impossible in '{self.state.value}'")
        if self.state is S.SUSPENDED and self.measures_active and self.suspended_from not in MEASURE_STATES:
            raise ValueError("a case suspended before its measures were applied has none to keep")


@dataclass(frozen=True)
class Transition:
    """The result of `apply`: the service writes `status`, one decision, and one outbox or deadline
    row per effect, in one transaction."""

    previous: CaseStatus
    event: CaseEvent
    status: CaseStatus
    effects: tuple[Effect, ...]


@dataclass(frozen=True)
class _Rule:
    target: CaseState
    effects: tuple[Effect, ...] = ()


# What ending an open case (withdrawal, invalidated right) must undo in each state it can end from.
# `suspended` is not here: what it undoes depends on where it was suspended from (see `apply`).
_WIND_DOWN: dict[CaseState, tuple[Effect, ...]] = {
    S.RECEIVED: (),
    S.INCOMPLETE: (X.CANCEL_CLARIFICATION_DEADLINE,),
    S.UNDER_REVIEW: (),
    S.MEASURES_REQUESTED: (X.LIFT_MEASURES,),  # drop the request: it may still be applied
    S.MEASURES_APPLIED: (X.LIFT_MEASURES, X.CANCEL_DECLARATION_DEADLINE),
    S.DECLARED: (X.LIFT_MEASURES,),
    S.WAITING: (X.LIFT_MEASURES, X.CANCEL_WINDOW),
}

# The deadline owned by each state a case can be suspended from; a suspended case that ends without
# resuming cancels its paused deadline.
_STATE_DEADLINE_CANCEL: dict[CaseState, Effect] = {
    S.MEASURES_APPLIED: X.CANCEL_DECLARATION_DEADLINE,
    S.WAITING: X.CANCEL_WINDOW,
}

# The table. `suspend` and `resume` are not here because their target and effects depend on
# `suspended_from` and on `keep_measures`; `apply` handles them, and withdrawal / invalidation from
# `suspended`, explicitly.
_TABLE: dict[tuple[CaseState, CaseEvent], _Rule] = {
    # Intake. A notice missing what the law requires is sent back, not rejected outright.
    (S.RECEIVED, E.COMPLETE_NOTICE): _Rule(S.UNDER_REVIEW),
    (S.RECEIVED, E.MARK_INCOMPLETE): _Rule(
        S.INCOMPLETE, (X.REQUEST_CLARIFICATION, X.START_CLARIFICATION_DEADLINE)
    ),
    (S.INCOMPLETE, E.CLARIFY): _Rule(S.UNDER_REVIEW, (X.CANCEL_CLARIFICATION_DEADLINE,)),
    (S.INCOMPLETE, E.CLARIFICATION_EXPIRED): _Rule(S.REJECTED),
    # Review. A reviewer may also send a notice back for completion.
    (S.UNDER_REVIEW, E.REQUEST_CLARIFICATION): _Rule(
        S.INCOMPLETE, (X.REQUEST_CLARIFICATION, X.START_CLARIFICATION_DEADLINE)
    ),
    (S.UNDER_REVIEW, E.REJECT): _Rule(S.REJECTED),
    # Accepting a notice forwards it to the merchant together with the measure request (ECL 42;
    # DSA Art 17: the statement of reasons goes out at the latest when the restriction is imposed).
    (S.UNDER_REVIEW, E.REQUEST_MEASURES): _Rule(S.MEASURES_REQUESTED, (X.REQUEST_MEASURES, X.FORWARD_NOTICE)),
    # Measures are the marketplace's to apply; the case waits for its confirmation, which is when
    # the merchant's time to declare starts.
    (S.MEASURES_REQUESTED, E.CONFIRM_MEASURES): _Rule(S.MEASURES_APPLIED, (X.START_DECLARATION_DEADLINE,)),
    # The marketplace could not apply a measure: back to review to choose another or reject. A case
    # under review has no measures in force, so the others of the request are lifted (or dropped, if
    # not yet applied); the reviewer decides on the listing again as a whole.
    (S.MEASURES_REQUESTED, E.MEASURES_FAILED): _Rule(S.UNDER_REVIEW, (X.LIFT_MEASURES,)),
    # The merchant answers, accepts, or stays silent.
    (S.MEASURES_APPLIED, E.ACCEPT_DECLARATION): _Rule(
        S.DECLARED, (X.CANCEL_DECLARATION_DEADLINE, X.FORWARD_DECLARATION)
    ),
    (S.MEASURES_APPLIED, E.SETTLE): _Rule(
        S.SETTLED, (X.CANCEL_DECLARATION_DEADLINE, X.END_MEASURES, X.RECORD_STRIKE_CANDIDATE)
    ),
    (S.MEASURES_APPLIED, E.DECLARATION_DEADLINE_PASSED): _Rule(S.CLOSED, (X.RECORD_STRIKE_CANDIDATE,)),
    # ECL 43: the window starts when the forwarded declaration *reaches* the rights holder, not when
    # it is sent, so `declared -> waiting` needs the delivery receipt.
    (S.DECLARED, E.DELIVER_DECLARATION): _Rule(S.WAITING, (X.START_WINDOW,)),
    # Within the window: proof of a complaint or lawsuit keeps the measures; silence ends them.
    (S.WAITING, E.ACCEPT_ACTION_PROOF): _Rule(S.UPHELD, (X.CANCEL_WINDOW, X.RECORD_STRIKE_CANDIDATE)),
    (S.WAITING, E.WINDOW_EXPIRED): _Rule(S.RESTORED, (X.LIFT_MEASURES,)),
    # Outcomes are closed separately so disclosure and notifications of the result go out first.
    **{(s, E.CLOSE): _Rule(S.CLOSED) for s in (S.RESTORED, S.UPHELD, S.SETTLED, S.REJECTED, S.WITHDRAWN)},
    # Ending an open case early undoes whatever that state had started.
    **{(s, E.WITHDRAW): _Rule(S.WITHDRAWN, fx) for s, fx in _WIND_DOWN.items()},
    **{(s, E.INVALIDATE_RIGHT): _Rule(S.REJECTED, fx) for s, fx in _WIND_DOWN.items()},
    # An appeal upheld against measures still in force reverses them: the notice is rejected for the listing.
    **{(s, E.REVERSE_ON_APPEAL): _Rule(S.REJECTED, (*fx, X.VOID_STRIKE_CANDIDATE)) for s, fx in _WIND_DOWN.items()
       if s in (S.MEASURES_REQUESTED, S.MEASURES_APPLIED, S.DECLARED, S.WAITING)},
    # Only a closed case can be reopened, and only by an appeal (lifting is added in `apply`), archived or not:
    # the complaint is the affected party's right (DSA Art 20) for as long as the policy's window runs.
    (S.CLOSED, E.REOPEN_ON_APPEAL): _Rule(S.UNDER_REVIEW, (X.VOID_STRIKE_CANDIDATE, X.UNARCHIVE)),
}

_ALLOWED: dict[CaseState, frozenset[CaseEvent]] = {
    state: frozenset(
        {e for (s, e) in _TABLE if s is state}
        | ({E.SUSPEND} if state in SUSPENDABLE_STATES else set())
        | ({E.RESUME, E.WITHDRAW, E.INVALIDATE_RIGHT} if state is S.SUSPENDED else set())
    )
    for state in CaseState
}


def allowed_events(status: CaseStatus) -> frozenset[CaseEvent]:
    """The events `apply` accepts for `status` (for UIs and GraphQL `allowedEvents`)."""
    return _ALLOWED[status.state]


def apply(status: CaseStatus, event: CaseEvent, *, keep_measures: bool = True) -> Transition:
    """Apply `event` to `status`. Raises `InvalidTransition` if the case cannot take it.

    `keep_measures` is only read by `suspend`: whether measures in force stay in force while
    handling is suspended (the tenant decides per suspension; the Beijing guideline's ground is
    that cutting the link would seriously harm the merchant, which argues for lifting).
    """
    state = status.state
    if event not in _ALLOWED[state]:
        raise InvalidTransition(state.value, event.value)

    if event is E.SUSPEND:
        return _suspend(status, keep_measures)
    if state is S.SUSPENDED:
        return _from_suspended(status, event)

    rule = _TABLE[(state, event)]
    effects = rule.effects
    new_measures = measures_active(rule.target, carried=status.measures_active)
    if event is E.REOPEN_ON_APPEAL and status.measures_active:
        # A reopened case has no standing decision to justify its measures; the reviewer decides
        # again (and requests measures again if the notice still holds).
        effects = (X.LIFT_MEASURES, *effects)
    return Transition(status, event, CaseStatus(rule.target, None, new_measures), effects)


def _suspend(status: CaseStatus, keep_measures: bool) -> Transition:
    effects: tuple[Effect, ...] = (X.PAUSE_DEADLINES,)
    kept = status.measures_active and keep_measures
    if status.measures_active and not keep_measures:
        effects += (X.LIFT_MEASURES,)
    elif status.state is S.MEASURES_REQUESTED:
        # Suspending handling means not acting on the notice: a measure not yet in force is not
        # imposed. Resuming requests it again.
        effects += (X.LIFT_MEASURES,)
    return Transition(status, E.SUSPEND, CaseStatus(S.SUSPENDED, status.state, kept), effects)


def _from_suspended(status: CaseStatus, event: CaseEvent) -> Transition:
    origin = status.suspended_from
    assert origin is not None  # guaranteed by CaseStatus validation
    if event is E.RESUME:
        # Back exactly where the case was; its paused clocks run on. Measures lifted at suspension
        # (or a request dropped then) are requested again.
        effects: tuple[Effect, ...] = (X.RESUME_DEADLINES,)
        should_be_active = origin in MEASURE_STATES
        if origin is S.MEASURES_REQUESTED or (should_be_active and not status.measures_active):
            effects += (X.REQUEST_MEASURES,)
        return Transition(status, event, CaseStatus(origin, None, should_be_active), effects)

    # withdraw / invalidate_right: end the case and undo what is still in place.
    target = S.WITHDRAWN if event is E.WITHDRAW else S.REJECTED
    effects = ()
    if status.measures_active:
        effects += (X.LIFT_MEASURES,)
    if origin in _STATE_DEADLINE_CANCEL:
        effects += (_STATE_DEADLINE_CANCEL[origin],)
    return Transition(status, event, CaseStatus(target, None, False), effects)
