"""The office's board: per plan, units × tasks with 亮灯, the counts of each colour, and a ranking of
units (overdue tasks, longest overdue, completion rate). Pure: built from the store's current
assignments and ``today``; the filters (plan, unit, status) come from the query string.

The counts and the ranking cover the plans and the unit chosen; the status filter narrows the grid
only (a row or a unit column with no cell of that status leaves it), so the figures beside the grid
never change with what the grid happens to show.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from reminder.lights import LIGHT_LABELS, assignment_light, days_overdue
from reminder.model import Assignment, AssignmentStatus, Light, TaskRecord

LIGHT_ORDER = (Light.RED, Light.YELLOW, Light.GREEN, Light.DONE)


@dataclass(frozen=True)
class BoardFilter:
    """What the office chose to see; None: everything."""

    plan: int | None = None
    unit: str | None = None
    status: Light | None = None

    @classmethod
    def from_query(cls, plan: str, unit: str, status: str) -> BoardFilter:
        """From the query string; a value that means nothing is ignored (the whole board shows)."""
        return cls(plan=int(plan) if plan.isdecimal() and len(plan) < 10 else None, unit=unit.strip() or None,
                   status=Light(status) if status in Light.__members__.values() else None)


@dataclass(frozen=True)
class Cell:
    """One unit's share of one task, as the board colours it."""

    assignment_id: int
    light: Light
    days_overdue: int

    @property
    def label(self) -> str:
        return LIGHT_LABELS[self.light] + (f" {self.days_overdue}天" if self.days_overdue else "")


@dataclass(frozen=True)
class BoardRow:
    task: TaskRecord
    cells: tuple[Cell | None, ...]    # one per unit column; None: the unit has no share of this task


@dataclass(frozen=True)
class UnitRank:
    """A unit's standing in one plan."""

    unit: str
    assignments: int
    done: int
    overdue: int             # open assignments past their effective due date
    longest_overdue: int     # days, of the longest of them

    @property
    def completion(self) -> str:
        """办结率 as people write it, with the counts behind it (so the figure can be checked)."""
        return f"{round(100 * self.done / self.assignments)}%（{self.done}/{self.assignments}）"


@dataclass(frozen=True)
class PlanBoard:
    plan_id: int
    title: str
    units: tuple[str, ...]
    rows: tuple[BoardRow, ...]
    counts: dict[Light, int]
    ranking: tuple[UnitRank, ...]
    tasks: int     # tasks with a cell the filter shows

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class _PlanParts:
    title: str
    tasks: dict[int, TaskRecord] = field(default_factory=dict)
    cells: dict[tuple[int, str], Cell] = field(default_factory=dict)
    units: dict[str, None] = field(default_factory=dict)


def build_board(assignments: Iterable[Assignment], today: date, yellow_within_days: int,
                chosen: BoardFilter = BoardFilter(), with_grid: bool = True) -> list[PlanBoard]:
    """The board of ``assignments`` (already narrowed to the chosen plan and unit) on ``today``;
    ``with_grid`` False leaves the units × tasks grids empty (``PlanBoard.tasks`` still counts them)."""
    plans: dict[int, _PlanParts] = {}
    for a in assignments:
        task = a.task
        parts = plans.setdefault(task.ref.plan_id, _PlanParts(task.plan_title))
        parts.tasks.setdefault(task.id, task)
        parts.units.setdefault(a.unit)
        due = a.due.day if a.due else None
        parts.cells[(task.id, a.unit)] = Cell(a.id, assignment_light(a, today, yellow_within_days),
                                              days_overdue(due, AssignmentStatus.OPEN, today)
                                              if a.status is AssignmentStatus.OPEN else 0)
    return [_plan_board(plan_id, parts, chosen.status, with_grid) for plan_id, parts in plans.items()]


def _plan_board(plan_id: int, parts: _PlanParts, status: Light | None, with_grid: bool) -> PlanBoard:
    counts = dict.fromkeys(LIGHT_ORDER, 0)
    for cell in parts.cells.values():
        counts[cell.light] += 1
    shown = {key: cell for key, cell in parts.cells.items() if status is None or cell.light is status}
    with_units, with_tasks = {u for _, u in shown}, {t for t, _ in shown}
    units = tuple(u for u in parts.units if u in with_units)
    rows = tuple(BoardRow(task, tuple(shown.get((task.id, u)) for u in units))
                 for task in parts.tasks.values() if task.id in with_tasks) if with_grid else ()
    return PlanBoard(plan_id, parts.title, units, rows, counts, rank_units(parts.cells.items()), len(with_tasks))


def rank_units(cells: Iterable[tuple[tuple[int, str], Cell]]) -> tuple[UnitRank, ...]:
    """Units, the most overdue first: most overdue tasks, then the longest overdue, then the lowest
    completion rate, then by name (so equal units keep a stable order)."""
    by_unit: dict[str, list[Cell]] = {}
    for (_, unit), cell in cells:
        by_unit.setdefault(unit, []).append(cell)
    ranks = [UnitRank(unit, len(found), sum(c.light is Light.DONE for c in found),
                      sum(c.light is Light.RED for c in found), max(c.days_overdue for c in found))
             for unit, found in by_unit.items()]
    return tuple(sorted(ranks, key=lambda r: (-r.overdue, -r.longest_overdue, r.done / r.assignments, r.unit)))


def unit_choices(assignments: Sequence[Assignment]) -> list[str]:
    return sorted({a.unit for a in assignments})
