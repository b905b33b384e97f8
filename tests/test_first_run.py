"""What a newcomer meets first: the tick's human line, readable .eml files, `reminder show`, and the
service's log (local time with its zone, signal names, one standby line, `run -v`)."""

from __future__ import annotations

import email
import email.policy
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reminder.channels.smtp import build_email
from reminder.model import Message
from tests.conftest import invoke, write_config

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sample-plan.txt"


@pytest.fixture
def imported(tmp_path) -> Path:
    config = write_config(tmp_path)
    assert invoke(config, "import", str(SAMPLE), "--now", "2026-03-01T08:00").exit_code == 0
    return config


def test_tick_prints_one_line_saying_what_went_where(imported, tmp_path):
    result = invoke(imported, "tick", "--now", "2026-03-02")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [f"2026-03-02 09:00 已发送 2 条提醒（文件 2 → {tmp_path / 'outbox'}）"]
    again = invoke(imported, "tick", "--now", "2026-03-02T09:05")
    assert again.stdout.splitlines() == ["2026-03-02 09:05 没有要发送的提醒（检查 0 项分配）"]


def test_tick_outside_the_window_says_when_it_sends_next(imported):
    result = invoke(imported, "tick", "--now", "2026-03-01T10:00")  # a Sunday
    assert result.stdout.splitlines() == ["2026-03-01 10:00 不在发送时段（工作日 9:00 起），不发送；下次发送 2026-03-02 09:00"]


def test_tick_json_keeps_the_machine_form(imported):
    report = json.loads(invoke(imported, "tick", "--now", "2026-03-02", "--json").stdout)
    assert set(report) == {"checked", "notices", "messages", "unroutable", "delivered", "waiting_until", "preview"}
    assert report["delivered"] == {"sent": 2, "retry": 0, "dead": 0, "unknown": 0, "deferred": 0}


def test_eml_files_are_readable_with_cat(imported, tmp_path):
    invoke(imported, "tick", "--now", "2026-03-02")
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 2
    raw = files[0].read_bytes()
    assert raw.count(b"Content-Transfer-Encoding: 8bit") == 2  # the text and the HTML part
    assert b"base64" not in raw
    assert "对重大政策开展多形式解读" in raw.decode("utf-8")  # the body as it reads, no decoding needed
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert "对重大政策开展多形式解读" in parsed.get_body(("plain",)).get_content()


def test_smtp_keeps_base64_bodies_for_any_relay():
    message = Message(key="k", to=("a@example.cn",), subject="提醒", text="县财政局：任务6 今天到期。")
    raw = build_email(message, "r@example.cn").as_bytes()
    assert b"Content-Transfer-Encoding: base64" in raw
    assert max(len(line) for line in raw.splitlines()) <= 78
    raw.decode("ascii")  # 7-bit clean


def test_show_prints_a_message_as_the_unit_reads_it(imported):
    invoke(imported, "tick", "--now", "2026-03-02")
    listed = json.loads(invoke(imported, "notices", "--json").stdout)
    office = next(m for m in listed if m["unit"] == "县政府办公室")
    shown = invoke(imported, "show", str(office["id"]))
    assert shown.exit_code == 0
    lines = shown.stdout.splitlines()
    assert lines[0] == f"主题：{office['subject']}"
    assert lines[1].startswith("发往：县政府办公室（文件 ")
    assert "状态：sent，生成 2026-03-02 09:00，发出 2026-03-02 09:00" in lines[2]
    assert "任务内容：对重大政策开展多形式解读，每季度通报政策解读情况。" in shown.stdout
    assert "=?utf-8?" not in shown.stdout


def test_show_an_unknown_message_names_the_fix(imported):
    result = invoke(imported, "show", "999")
    assert result.exit_code == 1
    assert "no message 999" in result.stderr and "reminder notices" in result.stderr


# --- the service's log ------------------------------------------------------------------------------

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d CST (INFO|DEBUG|WARNING|ERROR) ")


def start(config: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "reminder", "--config", str(config), "run", "--tick-seconds", "1",
                             "--lease-seconds", "2", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(process: subprocess.Popen, how: signal.Signals = signal.SIGINT) -> str:
    process.send_signal(how)
    output, _ = process.communicate(timeout=30)
    return output


@pytest.fixture
def service(tmp_path) -> Path:
    config = write_config(tmp_path, always_open=True, top='timezone = "Asia/Shanghai"')
    plan = tmp_path / "plan.txt"
    plan.write_text("某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
                    "| 1 | 任务甲。 | 县财政局 | 2021年9月30日前 |\n", encoding="utf-8")
    invoke(config, "import", str(plan), "--now", "2021-06-01T08:00")
    return config


def tick_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "已发送" in line or "没有要发送" in line]


@pytest.mark.slow
def test_service_log_is_in_local_time_with_names_and_one_line_per_sending_tick(service):
    daemon = start(service)
    time.sleep(4)
    output = stop(daemon, signal.SIGINT)
    assert daemon.returncode == 0, output
    lines = [line for line in output.splitlines() if "apscheduler" not in line]
    assert all(LOG_LINE.match(line) for line in lines), output
    assert "digest at 0:00 (Asia/Shanghai) on working days" in output
    assert "SIGINT: stopping after the message in flight" in output and "signal 2" not in output
    assert "delivering from this database" in output
    sending = tick_lines(output)
    assert len(sending) == 1 and "已发送 1 条提醒（文件 1 → " in sending[0], output  # quiet ticks log nothing
    assert "{" not in output


@pytest.mark.slow
def test_run_verbose_logs_every_tick(service):
    daemon = start(service, "-v")
    time.sleep(4)
    output = stop(daemon, signal.SIGTERM)
    assert "SIGTERM: stopping" in output
    assert len(tick_lines(output)) >= 3, output
    assert sum("没有要发送的提醒" in line for line in tick_lines(output)) >= 2


@pytest.mark.slow
def test_a_standby_says_so_once_and_again_when_it_takes_over(service):
    first = start(service)
    second = None
    try:
        time.sleep(2)
        second = start(service, "-v")  # even with -v, "standing by" is said once; the rest is debug
        time.sleep(3)
        first.kill()  # no release: the lease (2 s) must run out
        first.wait(timeout=10)
        time.sleep(5)
        output = stop(second)
    finally:
        first.kill()
        if second:
            second.kill()
    assert sum("; standing by" in line for line in output.splitlines()) == 1, output
    assert output.count("taking over delivery") == 1, output
    assert output.index("; standing by") < output.index("taking over delivery")


# --- tables a clerk can read ------------------------------------------------------------------------

def columns_start_at_the_same_display_column(lines: list[str], marker_per_line: list[str]) -> bool:
    from reminder.present import display_width

    starts = {display_width(line[:line.index(marker)]) for line, marker in zip(lines, marker_per_line)}
    return len(starts) == 1


def test_display_width_counts_chinese_as_two_columns():
    from reminder.present import display_width, fit, table

    assert display_width("县财政局") == 8 and display_width("a（1）") == 6 and display_width("é") == 1
    assert fit("对重大政策开展多形式解读", 9) == "对重大政…" and display_width(fit("对重大政策开展多形式解读", 9)) == 9
    lines = table(["单位", "n"], [["县财政局", 1], ["各乡镇（街道）", 12]], right=(1,))
    assert lines == ["单位             n", "--------------  --", "县财政局         1", "各乡镇（街道）  12"]


def test_tasks_is_an_aligned_table_with_a_header(imported):
    lines = invoke(imported, "tasks").stdout.splitlines()
    assert lines[0].split() == ["登记号", "时限类型", "到期日", "责任单位", "任务内容"]
    assert set(lines[1]) == {"-", " "}
    body = lines[2:]
    assert len(body) == 8
    dates = [re.search(r"  (\d{4}-\d\d-\d\d|-)[ （]", line).group(0) for line in body]
    assert columns_start_at_the_same_display_column(body, dates)
    units = [line.split()[3] for line in body]
    assert columns_start_at_the_same_display_column(body, units)  # after dates with and without （推定）
    assert any("2026-12-31（推定）" in line for line in body)


def test_notices_and_status_are_tables_in_local_time(imported):
    invoke(imported, "tick", "--now", "2026-03-02")
    invoke(imported, "progress", "1-4", "--unit", "县政府办公室", "--note", "已通报第一季度解读情况", "--on", "2026-03-02")
    notices = invoke(imported, "notices").stdout.splitlines()
    assert notices[0].split() == ["编号", "状态", "次数", "渠道", "单位", "阶段", "任务", "生成时间", "发出时间", "错误"]
    assert all("2026-03-02 09:00" in line and "已发送" in line for line in notices[2:])  # 01:00 UTC, shown at +08:00
    assert columns_start_at_the_same_display_column(notices[2:], ["即将到期"] * len(notices[2:]))
    assert "+00:00" not in "\n".join(notices)



def test_status_has_an_overdue_column_and_local_times(tmp_path):
    config = write_config(tmp_path)
    plan = tmp_path / "plan.txt"
    plan.write_text("某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
                    "| 1 | 任务甲。 | 县财政局、各乡镇（街道） | 2021年9月30日前 |\n"
                    "| 2 | 任务乙。 | 县财政局 | 持续推进 |\n", encoding="utf-8")
    invoke(config, "import", str(plan), "--now", "2021-06-01T08:00")
    invoke(config, "progress", "1-2", "--unit", "县财政局", "--note", "已通报第一季度解读情况", "--on", "2021-07-02")
    lines = invoke(config, "status").stdout.splitlines()
    assert lines[0] == "计划 1：某县2021年政务公开任务分工"
    assert lines[1].split() == ["单位", "未完成", "已完成", "逾期", "最近报送", "最近说明"]
    finance = next(line for line in lines if line.strip().startswith("县财政局"))
    assert finance.split()[1:4] == ["2", "0", "1"]  # 1-1 was due 2021-09-30: overdue; 1-2 is ongoing
    assert "2021-07-02 12:00" in finance and "1-2：已通报第一季度解读情况" in finance  # noon local, not 04:00 UTC
    towns = next(line for line in lines if line.strip().startswith("各乡镇（街道）"))
    assert towns.split()[1:5] == ["1", "0", "1", "-"]
    from reminder.present import display_width

    assert display_width(finance[:finance.index("2021-07-02")]) == display_width(lines[1][:lines[1].index("最近报送")])


# --- progress bars: on a terminal only ---------------------------------------------------------------

def plans(folder: Path, n: int) -> list[str]:
    paths = []
    for i in range(n):
        path = folder / f"plan{i}.txt"
        path.write_text(f"某县2021年第{i}批政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
                        f"| 1 | 任务{i}。 | 县财政局 | 2021年9月30日前 |\n", encoding="utf-8")
        paths.append(str(path))
    return paths


def on_a_terminal(config: Path, *args: str) -> str:
    """Run the command line in a child whose stdout and stderr are a pseudo-terminal; what it printed."""
    import os
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: stdout and stderr are the terminal
        os.execv(sys.executable, [sys.executable, "-m", "reminder", "--config", str(config), *args])
    output = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.waitpid(pid, 0)
    return output.decode("utf-8", "replace")


def test_importing_many_files_shows_a_bar_on_a_terminal(tmp_path):
    config = write_config(tmp_path)
    text = on_a_terminal(config, "import", *plans(tmp_path, 6))
    assert "reading" in text and "6/6" in text, text


def test_importing_many_files_into_a_pipe_or_log_shows_no_bar(tmp_path):
    config = write_config(tmp_path)
    result = subprocess.run([sys.executable, "-m", "reminder", "--config", str(config), "import", *plans(tmp_path, 6)],
                            check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "reading" not in result.stderr and "6/6" not in result.stderr and "\r" not in result.stderr
    assert result.stdout.count("created") == 6


def test_a_tick_sending_many_messages_shows_a_bar_on_a_terminal_and_none_in_a_pipe(tmp_path):
    """Sixty units with mailboxes of their own on a local mail server: sixty messages in one tick."""
    from tests.conftest import MAIL_DOMAIN
    from tests.servers import SmtpServer

    units = [f"县第{i}局" for i in range(60)]
    tables = "".join(f'\n[[units]]\nname = "{u}"\nemails = ["u{i:02}@{MAIL_DOMAIN}"]\n' for i, u in enumerate(units))
    body = "".join(f"| {i} | 任务{i}。 | {u} | 2021年9月30日前 |\n" for i, u in enumerate(units, 1))
    plan = tmp_path / "plan.txt"
    plan.write_text(f"某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n{body}", encoding="utf-8")
    with SmtpServer() as server:
        config = write_config(tmp_path, tables, fallback=False, smtp_port=server.port)
        invoke(config, "import", str(plan), "--now", "2021-06-01T08:00")
        text = on_a_terminal(config, "tick", "--now", "2021-08-31T10:00")
        assert "sending" in text and "60/60" in text, text
        assert len(server.handler.messages) == 60
        piped = subprocess.run([sys.executable, "-m", "reminder", "--config", str(config), "tick", "--now",
                                "2021-09-23T10:00"], check=False, capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0 and len(server.handler.messages) == 120
    assert "sending" not in piped.stderr and "60/60" not in piped.stderr and "\r" not in piped.stderr
    assert "已发送 60 条" in piped.stdout


def test_exporting_a_large_ledger_shows_a_bar_on_a_terminal_and_none_in_a_pipe(tmp_path):
    """2,080 rows (520 tasks × 4 units): the 台账 takes a moment to write."""
    body = "".join(f"| {i} | 任务{i}。 | 县财政局、县审计局、县教育局、县民政局 | 2021年9月30日前 |\n" for i in range(1, 521))
    plan = tmp_path / "plan.txt"
    plan.write_text(f"某县2021年政务公开任务分工\n| 序号 | 具体任务 | 责任单位 | 完成时限 |\n{body}", encoding="utf-8")
    config = write_config(tmp_path)
    invoke(config, "import", str(plan), "--now", "2021-06-01T08:00")
    text = on_a_terminal(config, "export", "ledger", str(tmp_path / "a.xlsx"), "--now", "2021-07-01")
    assert "writing" in text and "2080/2080" in text, text
    piped = subprocess.run([sys.executable, "-m", "reminder", "--config", str(config), "export", "ledger",
                            str(tmp_path / "b.xlsx"), "--now", "2021-07-01"], check=False, capture_output=True,
                           text=True, timeout=120)
    assert piped.returncode == 0 and "2080 rows written" in piped.stdout
    assert "writing" not in piped.stderr and "\r" not in piped.stderr
