"""亮灯: how an assignment stands today, in one of four colours, computed in one place.

Green: open and on track (or ongoing work, which has no date to miss); yellow: open and due within
``policy.yellow_within_days`` calendar days (the due day included); red: open and past its effective
due date; done: 办结. The due date is the assignment's own (an approved 延期 moves it), never the task's
when they differ, so the unit's page, the board and the notices agree. Pure: ``today`` is passed in.
"""

from __future__ import annotations

from datetime import date

from reminder.model import Assignment, AssignmentStatus, Light


def light(due: date | None, status: AssignmentStatus, today: date, yellow_within_days: int) -> Light:
    """The colour of work with effective due date ``due`` (None: no single date) and ``status``, on ``today``."""
    if status is AssignmentStatus.DONE:
        return Light.DONE
    if due is None:
        return Light.GREEN
    days_left = (due - today).days
    if days_left < 0:
        return Light.RED
    return Light.YELLOW if days_left <= yellow_within_days else Light.GREEN


def assignment_light(assignment: Assignment, today: date, yellow_within_days: int) -> Light:
    """:func:`light` of an assignment, on its own effective due date (``Assignment.due``)."""
    due = assignment.due
    return light(due.day if due else None, assignment.status, today, yellow_within_days)


LIGHT_LABELS = {Light.GREEN: "正常", Light.YELLOW: "临期", Light.RED: "逾期", Light.DONE: "已办结"}
"""What each colour says in words, for people who cannot tell the colours apart."""


def days_overdue(due: date | None, status: AssignmentStatus, today: date, done_on: date | None = None) -> int:
    """Calendar days past the effective due date: of open work as of ``today``; of finished work, how
    late it was on the day it was finished (``done_on``); 0 when on time or without a single date."""
    if due is None:
        return 0
    until = today if status is AssignmentStatus.OPEN else done_on
    return max(0, (until - due).days) if until is not None else 0
