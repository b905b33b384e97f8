"""Exports for the office: the 台账 (one row per task × unit, as an .xlsx) and the annual report's
"落实情况" paragraph per plan. Both are computed from the store's current assignments and ``today``
by the same rows, so the sheet and the paragraph never disagree; the web pages and `reminder export`
call the functions here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO
from zoneinfo import ZoneInfo

import sqlite_utils

from reminder import store
from reminder.lights import LIGHT_LABELS, assignment_light, days_overdue
from reminder.model import AssignmentStatus, Light, Role

HEADERS = ("计划", "序号", "所属部分", "工作任务", "完成时限（原文）", "截止日期", "责任单位", "角色", "状态",
           "签收时间", "最新进展", "进展日期", "办结日期", "逾期天数", "亮灯")
ROLE_LABELS = {Role.LEAD: "牵头", Role.RESPONSIBLE: "责任"}
STATUS_LABELS = {AssignmentStatus.OPEN: "未办结", AssignmentStatus.DONE: "已办结"}


@dataclass(frozen=True)
class LedgerRow:
    """One unit's share of one task, as the 台账 lists it. ``days_overdue``: of open work, days past the
    effective due date today; of finished work, how late it was finished (0: on time)."""

    plan_id: int
    plan: str
    number: str
    section: str
    requirement: str
    deadline_text: str
    due: date | None
    task_id: int
    unit: str
    role: Role
    status: AssignmentStatus
    acknowledged_at: datetime | None
    last_progress: str
    last_progress_on: date | None
    done_on: date | None
    days_overdue: int
    light: Light

    def cells(self) -> tuple:
        """The row as the sheet shows it (dates as dates, times in the office's zone without offset)."""
        return (self.plan, self.number, self.section, self.requirement,
                self.deadline_text, self.due, self.unit, ROLE_LABELS[self.role], STATUS_LABELS[self.status],
                self.acknowledged_at.replace(tzinfo=None) if self.acknowledged_at else None, self.last_progress,
                self.last_progress_on, self.done_on, self.days_overdue, LIGHT_LABELS[self.light])


def ledger_rows(db: sqlite_utils.Database, today: date, zone: ZoneInfo, yellow_within_days: int,
                plan_ids: Sequence[int] | None = None) -> list[LedgerRow]:
    """The 台账 of the given plans (all when None), in plan, task and unit-cell order."""
    found = store.current_assignments(db, plan_ids)
    notes = store.latest_notes(db, [a.id for a in found])
    rows = []
    for a in found:
        task, note = a.task, notes.get(a.id)
        due = a.due.day if a.due else None
        done_on = a.done_at.astimezone(zone).date() if a.done_at and a.status is AssignmentStatus.DONE else None
        rows.append(LedgerRow(
            plan_id=task.ref.plan_id, plan=task.plan_title, number=task.number, section=" / ".join(task.section),
            requirement=task.text, deadline_text=task.deadline.text, due=due, task_id=task.id, unit=a.unit,
            role=a.role, status=a.status,
            acknowledged_at=a.acknowledged_at.astimezone(zone) if a.acknowledged_at else None,
            last_progress=note.note if note else "", last_progress_on=note.at.astimezone(zone).date() if note else None,
            done_on=done_on, days_overdue=days_overdue(due, a.status, today, done_on),
            light=assignment_light(a, today, yellow_within_days)))
    return rows


def write_xlsx(rows: Iterable[LedgerRow], out: BinaryIO | str, today: date) -> None:
    """The 台账 as one sheet: a header row, one row per task × unit, filters and a frozen header."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = f"台账{today:%Y%m%d}"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row.cells())
    for column, width in zip("ABCDEFGHIJKLMNO", (24, 6, 16, 48, 18, 12, 18, 6, 8, 18, 36, 12, 12, 8, 8)):
        sheet.column_dimensions[column].width = width
    for line in sheet.iter_rows(min_row=2):
        line[3].alignment = Alignment(wrap_text=True, vertical="top")
        for index in (5, 11, 12):
            line[index].number_format = "yyyy-mm-dd"
        line[9].number_format = "yyyy-mm-dd hh:mm"
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    book.save(out)


@dataclass(frozen=True)
class PlanSummaryFigures:
    """The figures the 落实情况 paragraph states, each counted from the 台账's rows."""

    plan: str
    tasks: int              # tasks with at least one unit
    units: int
    assignments: int
    tasks_done: int         # every unit finished
    tasks_overdue: int      # some unit's share is open and past due
    assignments_done: int
    overdue_by_unit: tuple[tuple[str, int], ...]   # units with overdue shares, the most first


def summary_figures(rows: Sequence[LedgerRow]) -> PlanSummaryFigures:
    """The figures of one plan's rows."""
    by_task: dict[int, list[LedgerRow]] = {}
    overdue: dict[str, int] = {}
    for row in rows:
        by_task.setdefault(row.task_id, []).append(row)
        if row.light is Light.RED:
            overdue[row.unit] = overdue.get(row.unit, 0) + 1
    return PlanSummaryFigures(
        plan=rows[0].plan if rows else "", tasks=len(by_task), units=len({r.unit for r in rows}),
        assignments=len(rows),
        tasks_done=sum(all(r.status is AssignmentStatus.DONE for r in shares) for shares in by_task.values()),
        tasks_overdue=sum(any(r.light is Light.RED for r in shares) for shares in by_task.values()),
        assignments_done=sum(r.status is AssignmentStatus.DONE for r in rows),
        overdue_by_unit=tuple(sorted(overdue.items(), key=lambda pair: (-pair[1], pair[0]))))


def summary_paragraph(figures: PlanSummaryFigures, today: date) -> str:
    """落实情况 as an office writes it in its annual report; every figure from ``figures``."""
    f = figures
    rate = f"{100 * f.assignments_done / f.assignments:.1f}%" if f.assignments else "—"
    text = (f"《{f.plan}》明确的{f.tasks}项任务分解到{f.units}个单位，共{f.assignments}项分工。"
            f"截至{today.year}年{today.month}月{today.day}日，{f.tasks_done}项任务已全部办结，"
            f"{f.tasks - f.tasks_done}项正在推进")
    text += f"（其中{f.tasks_overdue}项逾期）；" if f.tasks_overdue else "，无逾期；"
    text += f"分工已办结{f.assignments_done}项，办结率{rate}。"
    if f.overdue_by_unit:
        text += "逾期未办结的分工：" + "、".join(f"{unit}{n}项" for unit, n in f.overdue_by_unit) + "。"
    return text


def summaries(rows: Sequence[LedgerRow], today: date) -> list[tuple[int, str]]:
    """(plan id, paragraph) for every plan in ``rows``, in their order."""
    by_plan: dict[int, list[LedgerRow]] = {}
    for row in rows:
        by_plan.setdefault(row.plan_id, []).append(row)
    return [(plan_id, summary_paragraph(summary_figures(found), today)) for plan_id, found in by_plan.items()]
