"""Memory and CPU of the daemon at rest, and how fast it stops on SIGTERM.

    python bench/idle.py [--tick-seconds 2] [--seconds 20]

In a temporary folder this writes a config (SQLite database, ``fallback_channel = "file"``, so the
notices become .eml files in ./outbox) and a small plan in the pipe-table format, imports the plan
with ``reminder import --now`` and starts ``reminder run --tick-seconds 2`` as a subprocess. Once
the start-up tick has written its notices and the process has settled, it samples the daemon every
50 ms for ``--seconds``:

* resident memory (VmRSS, and the kernel's high-water mark VmHWM, from /proc/PID/status);
* CPU time (utime + stime from /proc/PID/stat, in clock ticks of 10 ms), from which it prints CPU
  seconds per minute, the CPU cost of one (idle) tick, and in how many 50 ms samples the daemon
  used any CPU at all -- between ticks it should use none (the scheduler blocks, it does not poll).

Then it sends SIGTERM and prints the exit code and how long the daemon took to stop.
Targets (issue 3): under 80 MB of memory; no CPU between ticks.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REMINDER = [sys.executable, "-m", "reminder"]
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
PAGE_MB = 1024 * 1024
TARGET_RSS_MB = 80
SAMPLE_SECONDS = 0.05


def plan_text(year: int) -> str:
    """A small plan: one task due at year end, one ongoing, one dated, three units."""
    return (f"某县{year}年政务公开任务分工\n"
            "| 序号 | 具体任务 | 责任单位 | 完成时限 |\n"
            "| 1 | 任务甲。 | 县财政局 | 年底前 |\n"
            "| 2 | 任务乙。 | 县教育局、县卫健委 | 持续推进 |\n"
            f"| 3 | 任务丙。 | 县财政局 | {year}年1月31日前 |\n")


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def cpu_ticks(pid: int) -> int:
    """utime + stime of the process (all its threads), in clock ticks."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "; field 14 is index 11 here
    return int(fields[11]) + int(fields[12])


def setup(folder: Path) -> list[str]:
    """Config and imported plan in ``folder``; returns the command prefix with --config."""
    config = folder / "config.toml"
    config.write_text('database = "reminder.db"\nfallback_channel = "file"\n\n[file]\ndir = "outbox"\n',
                      encoding="utf-8")
    plan = folder / "plan.txt"
    plan.write_text(plan_text(datetime.now().year), encoding="utf-8")
    prefix = [*REMINDER, "--config", str(config)]
    now = datetime.now().astimezone().replace(microsecond=0).isoformat()
    subprocess.run([*prefix, "import", str(plan), "--now", now], check=True, capture_output=True, cwd=folder)
    return prefix


def wait_settled(proc: subprocess.Popen, outbox: Path, timeout: float = 60.0) -> float:
    """Seconds until the start-up tick has delivered (files in the outbox) and CPU has gone quiet."""
    start = time.monotonic()
    while not (outbox.is_dir() and any(outbox.iterdir())):
        if proc.poll() is not None or time.monotonic() - start > timeout:
            raise SystemExit(f"the daemon did not deliver its start-up notices (exit code {proc.poll()})")
        time.sleep(0.05)
    last, quiet_since = cpu_ticks(proc.pid), time.monotonic()
    while time.monotonic() - quiet_since < 1.0 and time.monotonic() - start < timeout:
        time.sleep(0.1)
        now = cpu_ticks(proc.pid)
        if now != last:
            last, quiet_since = now, time.monotonic()
    return time.monotonic() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tick-seconds", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=20.0, help="how long to sample")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="reminder-idle-") as tmp:
        folder = Path(tmp)
        prefix = setup(folder)
        log = (folder / "daemon.log").open("w")
        cmd = [*prefix, "run", "--tick-seconds", str(args.tick_seconds)]
        print("$", " ".join(cmd[2:] if cmd[:2] == REMINDER[:2] else cmd))
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
        try:
            settle = wait_settled(proc, folder / "outbox")
            startup_cpu = cpu_ticks(proc.pid) / CLOCK_TICK
            eml = len(list((folder / "outbox").iterdir()))
            print(f"start-up: settled after {settle:.1f} s (start-up tick delivered {eml} .eml files); "
                  f"CPU so far {startup_cpu:.2f} s; RSS {status_kb(proc.pid, 'VmRSS') / 1024:.1f} MB")

            samples = []  # (monotonic, cpu ticks, rss kB)
            end = time.monotonic() + args.seconds
            while time.monotonic() < end:
                samples.append((time.monotonic(), cpu_ticks(proc.pid), status_kb(proc.pid, "VmRSS")))
                time.sleep(SAMPLE_SECONDS)
            hwm = status_kb(proc.pid, "VmHWM")
        finally:
            stop = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            stopped = time.monotonic() - stop
            log.close()

        window = samples[-1][0] - samples[0][0]
        used = (samples[-1][1] - samples[0][1]) / CLOCK_TICK
        busy = sum(1 for a, b in zip(samples, samples[1:]) if b[1] != a[1])
        ticks = window / args.tick_seconds
        peak_idle = max(s[2] for s in samples) / 1024
        print(f"idle window {window:.1f} s (~{ticks:.0f} ticks, nothing due): CPU {used:.2f} s "
              f"= {used / window * 60:.2f} CPU-s per minute, ~{used / ticks * 1000:.0f} ms per tick")
        print(f"  CPU charged in {busy} of {len(samples) - 1} samples of {SAMPLE_SECONDS * 1000:.0f} ms "
              f"(the others: not one {1000 // CLOCK_TICK} ms clock tick)")
        print(f"  RSS while idle: peak {peak_idle:.1f} MB; lifetime peak (VmHWM) {hwm / 1024:.1f} MB "
              f"-> {'meets' if hwm / 1024 < TARGET_RSS_MB else 'MISSES'} the target (< {TARGET_RSS_MB} MB)")
        print(f"SIGTERM: exit code {code}, stopped in {stopped:.2f} s (ran {time.monotonic() - started:.0f} s)")
        tail = (folder / "daemon.log").read_text().strip().splitlines()[-3:]
        print("  last log lines:", *(f"    {line}" for line in tail), sep="\n")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
