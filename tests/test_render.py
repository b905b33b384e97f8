"""Templates rendered with realistic contexts: wording, urgency, inferred dates, escaping, overrides."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date, datetime

import jinja2
import pytest

from reminder import render
from reminder.errors import ConfigError
from reminder.render import (
    Renderer,
    date_cn,
    md_escape,
    packaged_templates_check,
    shorten,
)

PLAN = "2021年县政务公开工作要点任务分工方案"
NOW = datetime(2021, 11, 15, 9, 0)
SCRIPT = "<script>alert(1)</script>"


def item(stage: str = "reminder", **changes) -> dict:
    """One unit-notice item; by default a fixed date that was written in full (not inferred)."""
    days_left = {"overdue": -14, "due": 0, "reminder": 7, "checkin": None}[stage]
    base = {"stage": stage, "plan_title": PLAN, "task_number": "6", "task_ref": "3-6",
            "text": "做好财政预决算信息公开，按规定在县政府门户网站公开部门预算、决算及“三公”经费情况",
            "deadline_text": "2021年11月1日前", "due": date(2021, 11, 1), "due_inferred": False,
            "days_left": days_left, "late": False, "milestone": None, "period": None,
            "due_written": date(2021, 11, 1), "new": False, "last_report": None, "units_text": "县财政局",
            "due_change": ""}
    if stage == "checkin":
        base.update(due=None, due_written=None, deadline_text="持续推进", text="持续做好政策解读和回应关切工作")
    found = base | changes
    if "due_written" not in changes:
        found["due_written"] = found["due"]  # written as it falls: not moved off a rest day
    return found


def unit_context(*items: dict, unit: str = "县财政局") -> dict:
    return render.unit_context(unit, "县人民政府办公室", NOW, list(items))


def digest_context(**sections) -> dict:
    empty = {"overdue": [], "due_soon": [], "silent": [], "review": [], "unroutable": [], "failed": []}
    return render.digest_context("县人民政府办公室", NOW, **(empty | sections))


def overdue_item(days: int, escalated: bool, **changes) -> dict:
    changes = {"last_note": None, "last_note_at": None} | changes
    return item("overdue", days_left=-days, days_overdue=days, escalated=escalated, **changes)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def forms(rendered) -> dict[str, str]:
    return {"text": rendered.text, "html": rendered.html, "markdown": rendered.markdown}


# --- unit notice: subject and order -------------------------------------------------------------

@pytest.mark.parametrize(("stages", "subject"), [
    (["overdue", "overdue"], "【逾期提醒】县财政局有2项政务公开任务已逾期"),
    (["checkin", "reminder", "overdue", "due"], "【逾期提醒】县财政局有1项政务公开任务已逾期（本次共4项）"),
    (["reminder", "due"], "【到期提醒】县财政局有1项政务公开任务今日到期（本次共2项）"),
    (["reminder", "reminder", "reminder"], "【任务提醒】县财政局有3项政务公开任务即将到期"),
    (["checkin", "reminder"], "【任务提醒】县财政局有1项政务公开任务即将到期（本次共2项）"),
    (["checkin"], "【进展询问】请县财政局报送1项持续性政务公开任务进展"),
])
def test_subject_names_the_most_urgent_stage(renderer, stages, subject):
    rendered = renderer.render_unit(unit_context(*(item(s) for s in stages)))
    assert rendered.subject == subject


def test_items_are_grouped_most_urgent_first(renderer):
    reversed_order = (item("checkin"), item("reminder"), item("due"), item("overdue"))
    rendered = renderer.render_unit(unit_context(*reversed_order))
    for form, body in forms(rendered).items():
        positions = [body.index(title) for title in ("已逾期任务", "今日到期任务", "即将到期任务", "持续性任务进展询问")]
        assert positions == sorted(positions), form
    assert "一、已逾期任务（1项）" in rendered.text and "四、持续性任务进展询问（1项）" in rendered.text


def test_a_stage_with_no_items_gets_no_section(renderer):
    rendered = renderer.render_unit(unit_context(item("reminder")))
    assert "一、即将到期任务（1项）" in rendered.text
    for form, body in forms(rendered).items():
        assert "已逾期任务" not in body and "进展询问" not in body, form


# --- unit notice: what each item says -----------------------------------------------------------

def test_item_shows_plan_number_text_deadline_and_due_date(renderer):
    rendered = renderer.render_unit(unit_context(item("reminder", task_number="（三）5", task_ref="4-（三）5")))
    for form, body in forms(rendered).items():
        assert f"《{PLAN}》第（三）5项" in body, form
        assert "2021年11月1日前" in body and "2021年11月1日" in body, form
        assert "距到期还有7天" in body, form
        assert "4-（三）5" in body, form  # the 登记号: the stable reference every command takes
    assert "做好财政预决算信息公开，按规定在县政府门户网站公开部门预算、决算及“三公”经费情况" in rendered.text


@pytest.mark.parametrize(("days_left", "phrase"), [(-14, "已逾期14天"), (-1, "已逾期1天"), (0, "今日到期"),
                                                   (3, "距到期还有3天")])
def test_days_left_or_overdue_are_spelled_out(renderer, days_left, phrase):
    stage = "overdue" if days_left < 0 else "due" if days_left == 0 else "reminder"
    rendered = renderer.render_unit(unit_context(item(stage, days_left=days_left)))
    for form, body in forms(rendered).items():
        assert phrase in body, form


def test_inferred_dates_are_marked_and_explained(renderer):
    guessed = item("overdue", task_number="6", deadline_text="10月底前", due_inferred=True)
    written = item("reminder", task_number="9", deadline_text="2021年11月22日前", due=date(2021, 11, 22))
    rendered = renderer.render_unit(unit_context(guessed, written))
    assert "完成日期：2021年11月1日（日期系推定）" in rendered.text
    assert "完成日期：2021年11月22日，" in rendered.text
    assert "2021年11月1日<br><em>（日期系推定）</em>" in rendered.html
    assert "完成日期：2021年11月1日（日期系推定）" in rendered.markdown
    for form, body in forms(rendered).items():
        assert body.count("（日期系推定）") == 2, form  # the one date, plus the note explaining the mark
        assert "系根据原文推定" in body, form


def test_no_inferred_note_when_every_date_was_written(renderer):
    rendered = renderer.render_unit(unit_context(item("reminder"), item("checkin")))
    for form, body in forms(rendered).items():
        assert "推定" not in body, form


def test_late_notices_are_marked(renderer):
    rendered = renderer.render_unit(unit_context(item("overdue", task_number="6", late=True),
                                                 item("reminder", task_number="8")))
    assert f"《{PLAN}》第6项（补发）" in rendered.text
    assert "第8项（补发）" not in rendered.text
    assert "第6项<strong>（补发）</strong>" in rendered.html
    assert "第6项**（补发）" in rendered.markdown
    for form, body in forms(rendered).items():
        assert "现予补发" in body, form


def test_not_late_means_no_late_mark(renderer):
    for form, body in forms(renderer.render_unit(unit_context(item("overdue")))).items():
        assert "补发" not in body, form


def test_milestone_and_period_are_shown_and_absent_fields_print_nothing(renderer):
    rendered = renderer.render_unit(unit_context(
        item("due", milestone="制定实施方案并报县政府办公室备案", period="2021年第4季度"),
        item("checkin", deadline_text="")))
    for form, body in forms(rendered).items():
        assert "本阶段：制定实施方案并报县政府办公室备案" in body, form
        assert "本期：2021年第4季度" in body, form
        assert "时限" in body and "未明确" in body, form
        assert "None" not in body, form


def test_footer_says_how_to_reach_the_office_and_never_shows_a_command(renderer):
    contact = render.OfficeContact(name="县人民政府办公室", emails=["gwgk@example.gov.cn"], phone="0855-6621234")
    rendered = renderer.render_unit(render.unit_context("县财政局", "县人民政府办公室", NOW, [item("overdue")], contact))
    for form, body in forms(rendered).items():
        assert "注明登记号" in body and "0855-6621234" in body and "gwgk@example.gov.cn" in body, form
        assert "reminder " not in body and "--unit" not in body, form  # units are never shown commands
    # email: a reply reaches the office (the message carries Reply-To); a robot's group cannot be replied to
    assert "请直接回复本邮件（回复将送达县人民政府办公室）" in rendered.text
    assert "请直接回复本邮件（回复将送达县人民政府办公室）" in rendered.html
    assert "回复" not in rendered.markdown
    # without an office address, no notice claims a reply reaches it
    bare = renderer.render_unit(unit_context(item("overdue")))
    assert all("回复" not in body for body in forms(bare).values())
    rendered = renderer.render_unit(unit_context(item("overdue")))
    assert rendered.text.endswith("县人民政府办公室\n2021年11月15日\n")
    assert rendered.markdown.endswith("县人民政府办公室 2021年11月15日\n")
    assert '<p style="text-align:right">县人民政府办公室<br>2021年11月15日</p>' in rendered.html


def test_markdown_shortens_long_texts_but_email_keeps_them_whole(renderer):
    long_text = "依托政府门户网站和政务新媒体" * 10 + "结尾"
    rendered = renderer.render_unit(unit_context(item("reminder", text=long_text)))
    assert long_text in rendered.text and long_text in rendered.html
    assert long_text not in rendered.markdown
    assert "任务：" + long_text[:79] + "…" in rendered.markdown


# --- escaping ---------------------------------------------------------------------------------

HOSTILE = f"{SCRIPT} *加粗* _斜体_ [点此](http://evil.example) `代码` ![图](http://evil.example/x.png)\n# 标题"


def test_html_escapes_user_text(renderer):
    rendered = renderer.render_unit(unit_context(item("overdue", text=HOSTILE, plan_title=SCRIPT),
                                                 unit="县<b>财政</b>局"))
    assert "<script>" not in rendered.html and "<b>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "<title>【逾期提醒】县&lt;b&gt;财政&lt;/b&gt;局有1项" in rendered.html


def test_text_keeps_user_text_as_typed(renderer):
    """Plain text is not HTML: escaping it would show "&lt;" to the reader."""
    rendered = renderer.render_unit(unit_context(item("overdue", text="A&B <附件>")))
    assert "A&B <附件>" in rendered.text


def test_markdown_makes_user_text_inert(renderer):
    rendered = renderer.render_unit(unit_context(item("overdue", text=HOSTILE, plan_title="[方案](http://x)"),
                                                 unit="**县财政局**"))
    md = rendered.markdown
    assert "<script>" not in md and "＜script＞" in md
    assert "](http" not in md and "![" not in md
    assert "*加粗*" not in md and "_斜体_" not in md and "`代码`" not in md
    assert "\n# 标题" not in md  # the newline in the task text cannot start a heading
    assert "**＊＊县财政局＊＊**" in md
    # Our own markup survives: headings and bold item titles.
    assert md.startswith("### 【逾期提醒】")
    assert "**1. 《［方案］(http://x)》第6项**" in md


@pytest.mark.parametrize(("raw", "inert"), [
    ("<script>alert(1)</script>", "＜script＞alert(1)＜/script＞"),
    ("[链接](http://a.cn)", "［链接］(http://a.cn)"),
    ("*a* _b_ `c` #d |e| ~~f~~ !g &h \\i", "＊a＊ ＿b＿ ｀c｀ ＃d ｜e｜ ～～f～～ ！g ＆h ＼i"),
    ("第一行\n\n- 第二行", "第一行 - 第二行"),
    ("- 列表", "－ 列表"),
    ("+ 列表", "＋ 列表"),
    ("1. 有序", "1． 有序"),
    ("12) 有序", "12） 有序"),
    ("按时完成2021-2022年度工作", "按时完成2021-2022年度工作"),
    ("做好政务公开（含新闻发布）", "做好政务公开（含新闻发布）"),
])
def test_md_escape(raw, inert):
    assert md_escape(raw) == inert


# --- filters ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "written"), [(date(2021, 11, 1), "2021年11月1日"),
                                                (date(2022, 1, 31), "2022年1月31日"),
                                                (datetime(2021, 6, 5, 16, 30), "2021年6月5日")])
def test_date_cn(value, written):
    assert date_cn(value) == written


def test_date_cn_refuses_none_so_a_template_cannot_print_a_missing_date():
    with pytest.raises(TypeError, match="guard"):
        date_cn(None)


@pytest.mark.parametrize(("value", "n", "out"), [
    ("政务公开", 10, "政务公开"), ("一二三四五六", 4, "一二三…"), ("一二三四", 4, "一二三四"),
    ("一二\n  三", 10, "一二三"),                        # a cell wrapped by the document joins without a space
    ("县直各部门，\n各乡镇人民政府", 20, "县直各部门，各乡镇人民政府"),
    ("open\ngovernment", 20, "open government"),        # Latin words keep one space
    ("一二  三", 10, "一二 三")])                          # spaces inside a line stay one
def test_shorten(value, n, out):
    assert shorten(value, n) == out


# --- strictness and user templates ------------------------------------------------------------

def test_missing_context_key_raises(renderer):
    context = unit_context(item("overdue"))
    del context["office"]
    with pytest.raises(jinja2.UndefinedError, match="office"):
        renderer.render_unit(context)


def test_missing_item_key_raises(renderer):
    context = unit_context(item("reminder"))
    del context["items"][0]["due_inferred"]
    with pytest.raises(jinja2.UndefinedError, match="due_inferred"):
        renderer.render_unit(context)


def test_user_template_overrides_one_and_the_rest_stay_packaged(tmp_path):
    (tmp_path / "unit.txt.j2").write_text(
        '{% set subject = "【本局提醒】" ~ unit %}\n请{{ unit }}办理{{ items|length }}项任务。\n', encoding="utf-8")
    rendered = Renderer(tmp_path).render_unit(unit_context(item("overdue"), item("due")))
    assert rendered.subject == "【本局提醒】县财政局"
    assert rendered.text == "请县财政局办理2项任务。\n"
    assert "【逾期提醒】县财政局有1项政务公开任务已逾期" in rendered.html  # packaged
    assert rendered.markdown.startswith("### 【逾期提醒】")               # packaged


def test_user_template_may_reuse_packaged_helpers(tmp_path):
    (tmp_path / "unit.md.j2").write_text(
        '{% import "_unit_subject.j2" as s with context %}{% set subject = s.subject %}**{{ subject|md }}**\n',
        encoding="utf-8")
    rendered = Renderer(str(tmp_path)).render_unit(unit_context(item("due")))
    assert rendered.markdown == "**【到期提醒】县财政局有1项政务公开任务今日到期**\n"


def test_mistake_in_user_template_names_the_file_and_line(tmp_path):
    (tmp_path / "digest.html.j2").write_text("<p>{{ office }}</p>\n\n<p>{{ overdue_units }}</p>\n",
                                             encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        Renderer(tmp_path).render_digest(digest_context())
    assert caught.value.key == "templates"
    assert f"{tmp_path / 'digest.html.j2'}:3" in str(caught.value)
    assert "overdue_units" in str(caught.value)


def test_syntax_error_in_user_template_names_the_file_and_line(tmp_path):
    (tmp_path / "unit.txt.j2").write_text('{% set subject = "x" %}\n{% if %}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unit\.txt\.j2:2"):
        Renderer(tmp_path).render_unit(unit_context(item("due")))


def test_user_template_without_subject_is_refused(tmp_path):
    (tmp_path / "unit.txt.j2").write_text("请{{ unit }}办理。\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="subject"):
        Renderer(tmp_path).render_unit(unit_context(item("due")))


def test_autoescape_is_on_for_html_only(tmp_path):
    for name in ("unit.txt.j2", "unit.html.j2", "unit.md.j2"):
        (tmp_path / name).write_text('{% set subject = "s" %}{{ unit }}', encoding="utf-8")
    rendered = Renderer(tmp_path).render_unit(unit_context(item("due"), unit="A&B<局>"))
    assert rendered.html == "A&amp;B&lt;局&gt;"
    assert rendered.text.strip() == rendered.markdown.strip() == "A&B<局>"


# --- digest -----------------------------------------------------------------------------------

def full_digest(inferred: bool = True) -> dict:
    return digest_context(
        overdue=[{"unit": "县财政局", "items": [overdue_item(45, True, task_number="6", due_inferred=inferred,
                                                             deadline_text="10月底前"),
                                              overdue_item(3, False, task_number="12")], "total": 2},
                 {"unit": "县教育局", "items": [overdue_item(10, False, task_number="15")], "total": 1}],
        due_soon=[item("reminder", unit="县司法局", task_number="8", days_left=5),
                  item("reminder", unit="县卫健委", task_number="9", days_left=2),
                  item("due", unit="县医保局", task_number="10")],
        silent=[{"unit": "县住建局", "plan_title": PLAN, "task_number": "18", "task_ref": "3-18",
                 "text": "持续做好保障性住房信息公开", "last_progress": date(2021, 8, 2), "days_silent": 105},
                {"unit": "县民政局", "plan_title": PLAN, "task_number": "19", "task_ref": "3-19",
                 "text": "持续做好社会救助信息公开", "last_progress": None, "days_silent": 168}],
        review=[{"plan_title": PLAN, "task_number": "22", "task_ref": "3-22", "deadline_text": "适时",
                 "reason": "时限无法识别，需人工核定"}],
        unroutable=[{"unit": "县档案馆", "tasks": 3}],
        failed=[{"unit": "县卫健委", "channel": "dingtalk", "subject": "【任务提醒】县卫健委有1项政务公开任务即将到期",
                 "attempts": 5, "last_error": "errcode 310000: <sign not match>", "unknown_attempts": 0}],
        standings=[{"unit": "县财政局", "overdue": 2, "longest_overdue_days": 45, "done": 1, "open": 3,
                    "completion": "25%"},
                   {"unit": "县教育局", "overdue": 1, "longest_overdue_days": 10, "done": 0, "open": 1,
                    "completion": "0%"}],
        work={"tasks": 20, "tasks_done": 2, "unassigned": 1, "assignments": 5, "assignments_done": 1},
        unassigned=[{"plan_title": PLAN, "task_number": "30", "task_ref": "3-30", "text": "编制年度报告",
                     "units_text": ""}])


def test_digest_subject_counts_overdue_and_due_soon(renderer):
    rendered = renderer.render_digest(full_digest())
    assert rendered.subject == "【政务公开任务督办】2021年11月15日：逾期3项，近期到期3项，发送失败1条"
    quiet = renderer.render_digest(digest_context())
    assert quiet.subject == "【政务公开任务督办】2021年11月15日：逾期0项，近期到期0项"


def test_digest_lists_every_section(renderer):
    rendered = renderer.render_digest(full_digest())
    for form, body in forms(rendered).items():
        headings = ["一、总体情况", "二、逾期任务（3项，按单位）", "三、近期到期（3项）",
                    "四、长期未报送进展的持续性任务（2项）", "五、需人工核对的时限（1项）", "六、待分配任务（1项）",
                    "七、无联系方式的单位（1个）", "八、发送失败的消息（1条）"]
        positions = [body.index(h) for h in headings]
        assert positions == sorted(positions), form
        assert "无。" not in body, form


def test_digest_overdue_by_unit_with_days_and_escalation(renderer):
    rendered = renderer.render_digest(full_digest())
    assert "县财政局（2项）" in rendered.text and "县教育局（1项）" in rendered.text
    assert "完成日期：2021年11月1日（日期系推定）；已逾期45天【需督办】" in rendered.text
    assert "已逾期3天\n" in rendered.text  # not escalated: no mark
    assert "**已逾期45天**【需督办】" in rendered.markdown
    assert "45天<br><strong>需督办</strong>" in rendered.html
    assert 'rowspan="2">县财政局' in rendered.html
    for form, body in forms(rendered).items():
        assert body.count("需督办") == 1, form


def test_digest_other_sections_carry_their_facts(renderer):
    rendered = renderer.render_digest(full_digest())
    for form, body in forms(rendered).items():
        assert "县司法局" in body and "距到期还有5天" in body and "今日到期" in body, form
        assert "2021年8月2日" in body and "105天" in body and "168天" in body, form
        assert "适时" in body and "时限无法识别，需人工核定" in body, form
        assert "县档案馆" in body and "3项任务" in body, form
        assert "dingtalk" in body and "5" in body and "310000" in body, form
    assert "最近一次报送进展：2021年8月2日，已105天未报送" in rendered.text
    assert "尚未报送过进展，已168天未报送" in rendered.text
    assert "reminder retry" in rendered.text


def test_digest_escapes_in_html_and_markdown(renderer):
    rendered = renderer.render_digest(full_digest())
    assert "&lt;sign not match&gt;" in rendered.html and "<sign" not in rendered.html
    assert "＜sign not match＞" in rendered.markdown and "<sign" not in rendered.markdown


def test_empty_digest_sections_say_none(renderer):
    rendered = renderer.render_digest(digest_context())
    for form, body in forms(rendered).items():
        assert body.count("无。") == 8, form
        assert "推定" not in body and "None" not in body, form


def test_digest_explains_inferred_dates_only_when_present(renderer):
    with_guess = renderer.render_digest(full_digest())
    without = renderer.render_digest(full_digest(inferred=False))
    for form in ("text", "html", "markdown"):
        assert "系根据原文推定" in getattr(with_guess, form), form
        assert "推定" not in getattr(without, form), form


# --- packaging --------------------------------------------------------------------------------

def test_packaged_templates_check_passes():
    assert packaged_templates_check() is None


def test_packaged_templates_check_names_a_missing_template(tmp_path, monkeypatch):
    shutil.copytree(render.packaged_dir(), tmp_path / "templates")
    (tmp_path / "templates" / "digest.md.j2").unlink()
    monkeypatch.setattr(render, "packaged_dir", lambda: tmp_path / "templates")
    with pytest.raises(FileNotFoundError, match="digest.md.j2"):
        packaged_templates_check()


def test_every_packaged_template_is_listed():
    """A template added to the folder but not to PACKAGED_TEMPLATES would escape the packaging check."""
    on_disk = {path.name for path in render.packaged_dir().glob("*.j2")}
    assert on_disk == set(render.PACKAGED_TEMPLATES)


def test_importing_render_does_not_import_jinja2():
    code = "import sys, reminder.render; print('jinja2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the context types ------------------------------------------------------------------------

def _check_shape(value, kind) -> None:
    """``value`` has exactly the keys the TypedDict ``kind`` declares, nested lists and dicts too."""
    import typing

    hints = typing.get_type_hints(kind)
    assert set(value) == set(kind.__required_keys__) == set(hints), kind.__name__
    for key, hint in hints.items():
        inner = typing.get_args(hint)[0] if typing.get_origin(hint) is list else hint
        if typing.is_typeddict(inner):
            for element in (value[key] if typing.get_origin(hint) is list else [value[key]]):
                _check_shape(element, inner)


def test_every_template_renders_from_the_documented_context_types(tmp_path):
    """The sample contexts are built from the TypedDicts and have exactly their keys; every packaged
    template (the helpers through the ones that import them) renders from them, in every form."""
    unit, digest = render.sample_unit_context(), render.sample_digest_context()
    _check_shape(unit, render.UnitContext)
    _check_shape(digest, render.DigestContext)
    renderer = Renderer()
    for rendered in (renderer.render_unit(unit), renderer.render_digest(digest)):
        assert rendered.subject and rendered.text.strip() and rendered.html.strip() and rendered.markdown.strip()
    env_names = set(renderer.env.list_templates())
    assert set(render.PACKAGED_TEMPLATES) <= env_names
    assert "登记号：1-7" in renderer.render_unit(unit).text  # the ref, not a row id
    assert "2027年节假日安排尚未载入" in renderer.render_digest(digest).text


def test_a_form_not_asked_for_is_not_rendered():
    text_only = Renderer().render_unit(render.sample_unit_context(), forms=())
    assert text_only.text and text_only.html is None and text_only.markdown is None
    email = Renderer().render_unit(render.sample_unit_context(), forms={"html"})
    assert email.html and email.markdown is None


def test_a_date_moved_off_the_plans_says_why_beside_the_deadline_text_in_every_form():
    """An approved 延期 or the office's own date: the plan's 时限 text stays (it is what the plan says)
    and the notice says why the 完成日期 beside it differs."""
    extended = render.sample_item("reminder", 5, deadline_text="2021年9月30日前", due=date(2021, 11, 30),
                                  due_written=date(2021, 11, 30), due_inferred=False, due_change="extended")
    edited = render.sample_item("reminder", 5, task_number="7", task_ref="1-7", deadline_text="2021年9月30日前",
                                due=date(2021, 10, 15), due_written=date(2021, 10, 15), due_inferred=False,
                                due_change="office")
    plain = render.sample_item("reminder", 5, task_number="8", task_ref="1-8", deadline_text="2021年11月1日前",
                               due_inferred=False)
    context = render.notice_context([("县财政局", [extended, edited, plain])], render.SAMPLE_CONTACT,
                                    datetime(2021, 11, 25, 9, 0))
    rendered = Renderer().render_unit(context)
    for body in (rendered.text, rendered.markdown, rendered.html):
        assert "2021年9月30日前（已批准延期至2021年11月30日）" in body
        assert "2021年9月30日前（办公室已调整完成日期）" in body
        assert "2021年11月1日前（" not in body and body.count("已批准延期") == 1
