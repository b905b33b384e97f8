"""Notices and the office digest, rendered from Jinja2 templates.

One ``Renderer`` per run. It looks for each template first in the user's folder (config key
``templates``), then among the packaged ones, so an office can replace one template and keep the rest.
A unit's notice and the digest each come in three forms: ``.txt`` and ``.html`` for email, ``.md``
for group robots. Each template sets its subject at the top level (``{% set subject = … %}``);
the subject of a ``Rendered`` is the one the ``.txt`` template sets.

Safety: HTML templates are autoescaped; markdown templates pass user text through the ``md`` filter,
which escapes markdown syntax so a task text cannot break the layout or add links. Undefined names
raise (StrictUndefined) instead of printing nothing. A mistake in a user's template raises
``ConfigError(key="templates")`` naming the file and line; one in a packaged template is a bug and
raises Jinja's own error.

Context shapes: the TypedDicts below (``UnitContext``, ``DigestContext``), built by :func:`notice_context`
(:func:`unit_context` for one unit) and :func:`digest_context`; a test renders every template from them.
Items are grouped by stage here, once, so templates loop over ``sections`` instead of filtering ``items``
again and again. A notice may be for several units that share a mailbox or a robot: it then has one
block per unit in ``units`` (one block when it is for one unit). In templates ``group.items`` is the key,
not the dict method: the renderer looks keys up first.

Jinja2 is imported inside ``Renderer`` so that importing this module (and ``reminder --help``) stays cheap.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypedDict, cast

from reminder.errors import ConfigError
from reminder.model import MOST_URGENT_FIRST

UNIT_TEMPLATES = ("unit.txt.j2", "unit.html.j2", "unit.md.j2")
DIGEST_TEMPLATES = ("digest.txt.j2", "digest.html.j2", "digest.md.j2")
# Imported by the templates above; a user may override these too.
HELPER_TEMPLATES = ("_common.j2", "_unit_subject.j2", "_digest_subject.j2")
PACKAGED_TEMPLATES = UNIT_TEMPLATES + DIGEST_TEMPLATES + HELPER_TEMPLATES

# Characters that mean something in the markdown the robots render (emphasis, code, links, images,
# headings, quotes, tables, strikethrough, raw HTML such as DingTalk's and Feishu's <font>), mapped to
# their full-width forms. Backslash escapes are not used: DingTalk, WeCom and Feishu each render a
# different markdown subset, and where a backslash is not understood "\[x\](url)" can still become
# a link. Full-width forms are inert everywhere and read naturally in Chinese text.
_MD_INERT = str.maketrans({"\\": "＼", "`": "｀", "*": "＊", "_": "＿", "[": "［", "]": "］", "<": "＜",
                           ">": "＞", "#": "＃", "|": "｜", "~": "～", "!": "！", "&": "＆"})
# Block markers that count only at the start of a line: bullets, setext underlines, ordered lists.
_MD_LINE_START = re.compile(r"^(?:([-+=])|(\d+)([.)]))")
_FULL_WIDTH = {"-": "－", "+": "＋", "=": "＝", ".": "．", ")": "）"}


@dataclass(frozen=True)
class Rendered:
    """One message in the forms its channels want: text always (it also sets the subject), HTML for
    email and files, markdown for group robots; a form nobody asked for is None."""

    subject: str
    text: str
    html: str | None
    markdown: str | None


ALL_FORMS = frozenset({"html", "markdown"})
"""The forms besides text; ``render_unit`` and ``render_digest`` render those asked for."""


# --------------------------------------------------------------------------------------------------
# Context shapes


class UnitItem(TypedDict):
    """One task in a unit's notice."""

    stage: str                # "overdue" | "due" | "reminder" | "checkin"
    plan_title: str
    task_number: str          # the task's own number in its plan ("17", "2.1")
    task_ref: str             # the stable reference people type (登记号): "<plan id>-<number>", "1-17"
    text: str                 # the requirement as written
    deadline_text: str        # the deadline as written ("" when the plan gave none)
    due: date | None          # the effective (working-day) due date of this stage; None for check-ins
    due_inferred: bool        # the text gave no date or no year: the date is our guess
    days_left: int | None     # >0 days until due, 0 due today, <0 days overdue; None for check-ins
    late: bool                # should have gone out earlier (the service was down): 补发
    milestone: str | None     # what is due now, for deadlines with several steps
    period: str | None        # for recurring tasks: "2021年第3季度"
    due_written: date | None  # the date the text gave, before it moved off a rest day
    new: bool                 # the task was given to the unit by a later change: 新分配
    last_report: date | None  # check-ins: when the unit last reported (None: never)
    units_text: str           # the plan's unit cell as written (县直各部门（含本单位）)
    due_change: str           # why ``due`` is not the deadline text's date: "extended" (an approved 延期),
                              # "office" (the office set it), "" (it is the plan's)


class StageSection(TypedDict):
    """A unit's items of one stage."""

    stage: str
    items: list[UnitItem]


class UnitBlock(TypedDict):
    """One unit's part of a notice."""

    unit: str
    items: list[UnitItem]          # in section order
    sections: list[StageSection]   # by stage, most urgent first
    link: str | None               # the unit's own signed page link (None: no [web] configured)


class OfficeContact(TypedDict):
    """How a unit reaches the office (``[office]``): its name, email addresses (replies to a notice by
    email go there) and phone."""

    name: str
    emails: list[str]
    phone: str | None


class UnitContext(TypedDict):
    """A notice for one tick (``unit.*.j2``): for one unit, or for several that share the address."""

    unit: str                      # who it is for: the unit, or "县财政局、县民政局等5个单位"
    office: str
    now: datetime
    items: list[UnitItem]          # every item of every unit, in section order
    sections: list[StageSection]   # every unit's items by stage, most urgent first (the subject)
    inferred_note: bool            # some item shows an inferred date: explain the mark
    late_note: bool                # some item is sent late: explain 补发
    units: list[UnitBlock]         # one block per unit (one for a unit's own notice)
    contact: OfficeContact
    new_note: bool                 # some item is 新分配: explain it
    shift_notes: list[str]         # why a date moved, once each ("10月30日为周六，顺延至11月1日（周一）")
    by_email: bool                 # it goes by email (or an .eml file): a reply reaches the office (Reply-To)


class OverdueItem(UnitItem):
    days_overdue: int
    escalated: bool           # overdue past escalate_after_days: the office should act
    last_note: str | None     # what the unit last reported on it
    last_note_at: date | None


class OverdueGroup(TypedDict):
    unit: str
    items: list[OverdueItem]  # the most overdue first, cut to a length a mail server accepts
    total: int                # how many the unit has in all


class DueSoonItem(UnitItem):
    unit: str


class SilentItem(TypedDict):
    unit: str
    plan_title: str
    task_number: str
    task_ref: str
    text: str
    last_progress: date | None
    days_silent: int


class ReviewItem(TypedDict):
    plan_title: str
    task_number: str
    task_ref: str
    deadline_text: str
    reason: str


class UnroutableUnit(TypedDict):
    unit: str
    tasks: int


class FailedMessage(TypedDict):
    unit: str
    channel: str
    subject: str
    attempts: int
    last_error: str
    unknown_attempts: int     # of the attempts, those that went out without an answer: the receiver may have it


class StandingRow(TypedDict):
    """One unit's line in the digest's summary table."""

    unit: str
    overdue: int              # assignments past their due date
    longest_overdue_days: int
    done: int
    open: int
    completion: str           # done of all, as a percentage ("75%")


class WorkCounts(TypedDict):
    """Tasks and assignments counted apart (a task is done when every unit on it is)."""

    tasks: int
    tasks_done: int
    unassigned: int
    assignments: int
    assignments_done: int


class UnassignedTask(TypedDict):
    """A task no unit has (待分配)."""

    plan_title: str
    task_number: str
    task_ref: str
    text: str
    units_text: str


class DigestTotals(TypedDict):
    """Whole counts per section, before the lists were cut."""

    overdue: int
    due_soon: int
    silent: int
    review: int
    unroutable: int
    failed: int
    unassigned: int
    standings: int            # units in the summary table


class DigestContext(TypedDict):
    """The office's escalation digest (``digest.*.j2``)."""

    office: str
    now: datetime
    overdue: list[OverdueGroup]
    due_soon: list[DueSoonItem]
    silent: list[SilentItem]
    review: list[ReviewItem]
    unroutable: list[UnroutableUnit]
    failed: list[FailedMessage]
    totals: DigestTotals
    limit: int                # the most items a section lists
    omitted_note: str         # what the cut left out ("逾期任务12项"), "" when nothing
    inferred_note: bool       # some listed date was inferred: explain the mark
    calendar_notes: list[str]  # years the working-day calendar does not know ("2027年节假日安排尚未载入，按周末计算")
    standings: list[StandingRow]    # the summary table by unit, the most overdue first
    work: WorkCounts
    unassigned: list[UnassignedTask]
    queue_url: str | None     # the office's queue on the web app (None: no [web] configured)


DIGEST_SECTIONS = {"overdue": "逾期任务", "due_soon": "近期到期", "silent": "未报送进展", "review": "需核对时限",
                   "unroutable": "无联系方式单位", "failed": "发送失败消息", "unassigned": "待分配任务",
                   "standings": "单位汇总"}


def _by_stage(items: Sequence[UnitItem]) -> list[StageSection]:
    """Items grouped by stage, most urgent first, keeping their order within a stage; no empty stages."""
    sections = [StageSection(stage=str(stage), items=[i for i in items if i["stage"] == stage])
                for stage in MOST_URGENT_FIRST]
    return [s for s in sections if s["items"]]


UNITS_NAMED = 3
"""A notice for several units names this many of them in its greeting and subject, then counts the rest."""


def units_label(units: Sequence[str]) -> str:
    """Who a notice is for: "县财政局", "县财政局、县民政局", "县财政局、县民政局、县审计局等5个单位"."""
    if len(units) <= UNITS_NAMED:
        return "、".join(units)
    return "、".join(units[:UNITS_NAMED]) + f"等{len(units)}个单位"


def notice_context(units: Sequence[tuple[str, Sequence[UnitItem]]], contact: OfficeContact, now: datetime,
                   shift_notes: Sequence[str] = (), by_email: bool = True,
                   links: Mapping[str, str] | None = None) -> UnitContext:
    """A notice for one unit or for several sharing an address: one block per unit (its items by stage),
    and every item by stage for the subject. ``by_email``: it goes by email (else to a robot or a
    webhook, where nobody can reply to it). ``links``: each unit's own page link, when the web app runs."""
    blocks = [UnitBlock(unit=unit, sections=_by_stage(items), items=[], link=(links or {}).get(unit))
              for unit, items in units if items]
    for block in blocks:
        block["items"] = [i for section in block["sections"] for i in section["items"]]
    every = [i for block in blocks for i in block["items"]]
    sections = _by_stage(every)
    return UnitContext(unit=units_label([b["unit"] for b in blocks]), office=contact["name"], now=now,
                       items=[i for section in sections for i in section["items"]], sections=sections,
                       inferred_note=any(i["due_inferred"] and i["due"] for i in every),
                       late_note=any(i["late"] for i in every), units=blocks, contact=contact,
                       new_note=any(i["new"] for i in every), shift_notes=list(dict.fromkeys(shift_notes)),
                       by_email=by_email)


def unit_context(unit: str, office: str, now: datetime, items: Sequence[UnitItem],
                 contact: OfficeContact | None = None) -> UnitContext:
    """A unit's own notice: its items grouped by stage, most urgent first, keeping their order within a stage."""
    return notice_context([(unit, items)], contact or OfficeContact(name=office, emails=[], phone=None), now)


def digest_context(office: str, now: datetime, *, overdue: list[OverdueGroup], due_soon: list[DueSoonItem],
                   silent: list[SilentItem], review: list[ReviewItem], unroutable: list[UnroutableUnit],
                   failed: list[FailedMessage], totals: DigestTotals | None = None, limit: int = 0,
                   calendar_notes: Sequence[str] = (), standings: Sequence[StandingRow] = (),
                   work: WorkCounts | None = None, unassigned: Sequence[UnassignedTask] = (),
                   queue_url: str | None = None) -> DigestContext:
    """The digest's context. ``totals`` (whole counts, when the lists were cut) default to the lists'
    own lengths; ``omitted_note`` says what the cut left out."""
    shown = DigestTotals(overdue=sum(len(g["items"]) for g in overdue), due_soon=len(due_soon),
                         silent=len(silent), review=len(review), unroutable=len(unroutable), failed=len(failed),
                         unassigned=len(unassigned), standings=len(standings))
    totals = totals or shown
    whole, listed = cast(dict[str, int], totals), cast(dict[str, int], shown)
    omitted = [f"{title}{whole[k] - listed[k]}{'个单位' if k == 'standings' else '项'}"
               for k, title in DIGEST_SECTIONS.items() if whole[k] > listed[k]]
    dated: list[UnitItem] = [i for g in overdue for i in g["items"]] + list(due_soon)
    return DigestContext(office=office, now=now, overdue=overdue, due_soon=due_soon, silent=silent, review=review,
                         unroutable=unroutable, failed=failed, totals=totals, limit=limit,
                         omitted_note="、".join(omitted), inferred_note=any(i["due_inferred"] and i["due"] for i in dated),
                         calendar_notes=list(calendar_notes), standings=list(standings),
                         work=work or WorkCounts(tasks=0, tasks_done=0, unassigned=len(unassigned), assignments=0,
                                                 assignments_done=0),
                         unassigned=list(unassigned), queue_url=queue_url)


def packaged_dir() -> Path:
    """The folder of the packaged templates.

    Installed (or installed editable), they are the package ``reminder.templates``. Running from a
    source checkout without that mapping (``pytest`` puts the checkout's ``reminder/`` first, and it
    has no ``templates`` inside), the package is not importable, so fall back to the top-level
    ``templates/`` beside it. Zip imports are not supported: Jinja's loader needs real files.
    """
    from importlib.resources import files

    try:
        return Path(str(files("reminder.templates")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "templates"


def date_cn(value: date) -> str:
    """``2021年11月1日``: how a date is written in an official notice (no leading zeros)."""
    if not isinstance(value, date):
        raise TypeError(f"date_cn needs a date, got {value!r}; guard optional dates with {{% if %}}")
    return f"{value.year}年{value.month}月{value.day}日"


_LINE_BREAK = re.compile(r"\s*\n\s*")
_ASCII_WORD = re.compile(r"[0-9A-Za-z]")


def one_line(value: Any) -> str:
    """``value`` on one line: a line break inside Chinese text (a cell wrapped in the document: "县直各部门，
    \n各乡镇人民政府") joins without a space; between Latin words it becomes one; other runs of spaces one."""
    def join(match: re.Match) -> str:
        text = match.string
        before = text[match.start() - 1] if match.start() else ""
        after = text[match.end()] if match.end() < len(text) else ""
        return " " if _ASCII_WORD.match(before) and _ASCII_WORD.match(after) else ""

    return " ".join(_LINE_BREAK.sub(join, str(value).strip()).split())


def shorten(value: Any, n: int = 80) -> str:
    """``value`` on one line (:func:`one_line`), cut to at most ``n`` characters with "…" so a list stays
    scannable."""
    text = one_line(value)
    return text if len(text) <= n else text[: n - 1] + "…"


def md_escape(value: Any) -> str:
    """``value`` as inert text in robot markdown, on one line.

    Newlines are folded so a task text cannot start its own heading, list or quote, and markdown
    characters become their full-width forms so it cannot add emphasis, code, links or HTML.
    """
    text = " ".join(str(value).split()).translate(_MD_INERT)
    return _MD_LINE_START.sub(_inert_marker, text)


def _inert_marker(match: re.Match) -> str:
    """A line-start list or underline marker in full width: "- x" -> "－ x", "1. x" -> "1． x"."""
    bullet, number, dot = match.groups()
    return _FULL_WIDTH[bullet] if bullet else number + _FULL_WIDTH[dot]


def _autoescape(name: str | None) -> bool:
    """Escape HTML in ``*.html.j2`` only; text and markdown must keep ``<`` and ``&`` as typed."""
    return name is not None and name.endswith((".html.j2", ".html"))


def _environment_class() -> type:
    """A Jinja environment for contexts made of dicts (the TypedDicts above): ``item.stage`` looks the key
    up first. Jinja's default tries the attribute first, and on a dict that fails with an exception for
    every field of every item, a third of the rendering time of a large notice."""
    import jinja2

    class ContextEnvironment(jinja2.Environment):
        def getattr(self, obj: Any, attribute: str) -> Any:
            if type(obj) is dict and attribute in obj:
                return obj[attribute]
            return super().getattr(obj, attribute)

    return ContextEnvironment


class Renderer:
    """Renders unit notices and the digest; ``user_dir`` (optional) overrides packaged templates."""

    def __init__(self, user_dir: str | Path | None = None):
        import jinja2

        self.user_dir = Path(user_dir).resolve() if user_dir is not None else None
        loaders = [jinja2.FileSystemLoader(packaged_dir())]
        if self.user_dir is not None:
            loaders.insert(0, jinja2.FileSystemLoader(self.user_dir))
        self.env = _environment_class()(
            loader=jinja2.ChoiceLoader(loaders),
            undefined=jinja2.StrictUndefined,
            autoescape=_autoescape,
            trim_blocks=True,
            lstrip_blocks=True,
            # Templates are not re-read while a Renderer lives: tick.shared_renderer makes a new one when
            # a file in the user's folder changes, so no file is stat'ed for every message rendered.
            auto_reload=False,
        )
        self.env.filters.update(date_cn=date_cn, md=md_escape, shorten=shorten, one_line=one_line)

    def render_unit(self, context: UnitContext, forms: Collection[str] = ALL_FORMS) -> Rendered:
        """One unit's notice for one tick (see :func:`unit_context`), in text and the ``forms`` asked for."""
        return self._render_set(UNIT_TEMPLATES, context, forms)

    def render_digest(self, context: DigestContext, forms: Collection[str] = ALL_FORMS) -> Rendered:
        """The office's escalation digest (see :func:`digest_context`)."""
        return self._render_set(DIGEST_TEMPLATES, context, forms)

    def _render_set(self, names: tuple[str, str, str], context: UnitContext | DigestContext,
                    forms: Collection[str]) -> Rendered:
        """Render the text template and those of the ``forms`` asked for; the subject comes from the text."""
        import jinja2

        txt, html, md = names
        values: dict[str, Any] = dict(context)
        try:
            subject, text = self._subject_and_body(txt, values)
            return Rendered(
                subject=subject, text=text.strip() + "\n",
                html=self.env.get_template(html).render(values) if "html" in forms else None,
                markdown=self.env.get_template(md).render(values).strip() + "\n" if "markdown" in forms else None)
        except jinja2.TemplateError as err:
            where = self._user_location(err)
            if where is None:
                raise
            raise ConfigError(f"template {where}: {err.message}; fix it, or delete it to use the "
                              "packaged template", key="templates") from err
        except Exception as err:  # a runtime error inside a user's template: {{ 1 // 0 }}, {{ "a" + 1 }}
            where = self._user_location(err)
            if where is None:
                raise
            raise ConfigError(f"template {where}: {type(err).__name__}: {err} while rendering; fix it, or delete "
                              "it to use the packaged template", key="templates") from err

    def _subject_and_body(self, name: str, context: dict[str, Any]) -> tuple[str, str]:
        """Render ``name`` once, reading its top-level ``subject`` as well as its output."""
        template = self.env.get_template(name)
        module = template.make_module(context)
        subject = getattr(module, "subject", None)
        if not subject:
            raise ConfigError(f"template {template.filename} sets no subject; add "
                              "{% set subject = \"…\" %} at its top level", key="templates")
        return " ".join(str(subject).split()), str(module)

    def _user_location(self, err: Exception) -> str | None:
        """``file:line`` of the innermost frame in the user's templates, or None if none is there.

        Compiled templates keep the template's file name, which tells a user's mistake from a
        packaged template's bug. Their line numbers are the generated code's, mapped back here;
        Jinja's own rewritten frames (syntax errors, ``render``) already carry the template line.
        """
        if self.user_dir is None:
            return None
        where, tb = None, err.__traceback__
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if Path(filename).is_relative_to(self.user_dir):
                template = tb.tb_frame.f_globals.get("__jinja_template__")
                line = template.get_corresponding_lineno(tb.tb_lineno) if template else tb.tb_lineno
                where = f"{filename}:{line}"
            tb = tb.tb_next
        return where


def packaged_templates_check() -> None:
    """Raise unless every packaged template is present and renders; print nothing on success.

    CI calls this from an installed wheel outside the checkout, which catches templates left out
    of the package data (they would otherwise fail only at the first tick on a server).
    """
    root = packaged_dir()
    missing = [name for name in PACKAGED_TEMPLATES if not (root / name).is_file()]
    if missing:
        raise FileNotFoundError(f"packaged templates missing from {root}: {', '.join(missing)}; "
                                "check [tool.setuptools.package-data] in pyproject.toml")
    renderer = Renderer()
    for rendered in (renderer.render_unit(sample_unit_context()),
                     renderer.render_digest(sample_digest_context())):
        empty = [field for field, value in vars(rendered).items() if not (value or "").strip()]
        if empty:
            raise RuntimeError(f"packaged templates rendered empty {', '.join(empty)}: {rendered.subject!r}")


def sample_item(stage: str, days_left: int | None, **changes: Any) -> UnitItem:
    """A unit-notice item with every key set, for checks, previews and tests."""
    due = date(2021, 11, 1) if days_left is not None else None
    item = UnitItem(stage=stage, plan_title="2021年县政务公开工作要点任务分工", task_number="6", task_ref="1-6",
                    text="做好财政预决算信息公开，按规定公开部门预算、决算及“三公”经费", deadline_text="10月底前",
                    due=due, due_inferred=True, days_left=days_left, late=False, milestone=None, period=None,
                    due_written=date(2021, 10, 30) if due else None, new=False, last_report=None,
                    units_text="县财政局", due_change="")
    return cast(UnitItem, {**item, **changes})


SAMPLE_CONTACT = OfficeContact(name="县政务公开办", emails=["gwgk@example.gov.cn"], phone="0855-0000000")


def sample_unit_context() -> UnitContext:
    """A notice for two units sharing an address, touching every stage and every optional field."""
    return notice_context([
        ("县财政局", [sample_item("overdue", -14, late=True),
                   sample_item("due", 0, task_number="7", task_ref="1-7", due_inferred=False,
                               milestone="制定实施方案"),
                   sample_item("reminder", 7, task_number="8", task_ref="1-8", period="2021年第4季度", new=True),
                   sample_item("checkin", None, task_number="9", task_ref="1-9", deadline_text="持续推进",
                               due_inferred=False, last_report=date(2021, 9, 1),
                               units_text="县直各部门（含本单位）")]),
        ("县民政局", [sample_item("checkin", None, task_number="9", task_ref="1-9", deadline_text="持续推进",
                               due_inferred=False, units_text="县直各部门（含本单位）")]),
    ], SAMPLE_CONTACT, datetime(2021, 11, 15, 9, 0), shift_notes=["10月30日为周六，顺延至11月1日（周一）"],
        by_email=True)


def sample_digest_context() -> DigestContext:
    """A digest with something in every section."""
    overdue = OverdueItem(**sample_item("overdue", -14), days_overdue=14, escalated=True, last_note="已完成初稿",
                          last_note_at=date(2021, 11, 10))
    return digest_context(
        "县政务公开办", datetime(2021, 11, 15, 16, 0),
        overdue=[OverdueGroup(unit="县财政局", items=[overdue], total=1)],
        due_soon=[DueSoonItem(**sample_item("reminder", 5), unit="县司法局")],
        silent=[SilentItem(unit="县教育局", plan_title="2021年县政务公开工作要点任务分工", task_number="3",
                           task_ref="1-3", text="持续做好义务教育招生信息公开", last_progress=None, days_silent=120)],
        review=[ReviewItem(plan_title="2021年县政务公开工作要点任务分工", task_number="11", task_ref="1-11",
                           deadline_text="适时", reason="时限无法识别")],
        unroutable=[UnroutableUnit(unit="县档案馆", tasks=2)],
        failed=[FailedMessage(unit="县卫健委", channel="dingtalk", subject="【任务提醒】县卫健委…", attempts=5,
                              last_error="errcode 310000: sign not match", unknown_attempts=2)],
        calendar_notes=["2027年节假日安排尚未载入，按周末计算"],
        standings=[StandingRow(unit="县财政局", overdue=1, longest_overdue_days=14, done=3, open=2, completion="60%"),
                   StandingRow(unit="县司法局", overdue=0, longest_overdue_days=0, done=1, open=1, completion="50%")],
        work=WorkCounts(tasks=12, tasks_done=4, unassigned=1, assignments=7, assignments_done=4),
        unassigned=[UnassignedTask(plan_title="2021年县政务公开工作要点任务分工", task_number="12", task_ref="1-12",
                                   text="做好政府信息公开年度报告编制发布工作", units_text="")])
