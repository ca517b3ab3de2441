"""One measured process: its wall time, the CPU and memory of its whole process tree sampled with psutil, the load.

CPU is user + system time summed over every process of the tree (each process's last sample: a process that lives
less than one sampling period may be missed, a fraction of a second over runs of a minute). Memory is PSS, which
shares the pages several processes map between them (RSS would count Chromium's shared pages once per process).
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.table import cpu_clock, load_average, stolen_share

PERIOD = 0.25  # seconds between samples
MB = 2**20


@dataclass
class Measurement:
    """What one run of a command cost. `samples` holds (progress, Chromium PSS in MB) when progress was asked for."""

    seconds: float
    cpu_seconds: float
    peak_browser_mb: float
    peak_root_mb: float
    peak_tree_mb: float
    load_start: float
    load_end: float
    output: str
    # The share of the machine's CPU time the hypervisor took during the run (see bench.table.cpu_clock).
    stolen: float = 0.0
    samples: list[tuple[int, float]] = field(default_factory=list)


class _Sampler:
    def __init__(self, pid: int, progress: Callable[[], int] | None) -> None:
        self.root = psutil.Process(pid)
        self.progress = progress
        self.cpu: dict[int, float] = {}
        self.peak_browser = self.peak_root = self.peak_tree = 0
        self.samples: list[tuple[int, float]] = []
        self.seen: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(PERIOD):
                return

    def sample(self) -> None:
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        tree = browser = 0
        for process in processes:
            self.seen.setdefault(process.pid, process)
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    pss = process.memory_full_info().pss
                    name = process.name()
            except psutil.Error:
                continue
            self.cpu[process.pid] = max(self.cpu.get(process.pid, 0.0), times.user + times.system)
            tree += pss
            if "chrom" in name:
                browser += pss
            if process.pid == self.root.pid:
                self.peak_root = max(self.peak_root, pss)
        self.peak_tree = max(self.peak_tree, tree)
        self.peak_browser = max(self.peak_browser, browser)
        if self.progress is not None and browser:
            self.samples.append((self.progress(), round(browser / MB, 1)))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def end_leftovers(self) -> int:
        """End the processes of the tree that outlived its root (a browser its driver did not close, re-parented
        away from the tree): they would burn the next run's CPU and memory. How many there were."""
        # is_running() also tells a process from a later one given the same pid
        running = [p for p in self.seen.values() if p.pid != self.root.pid and p.is_running()]
        _ended, left = psutil.wait_procs(running, timeout=2)  # a browser's helpers end just after it
        for process in left:
            with contextlib.suppress(psutil.Error):
                process.terminate()
        _ended, stubborn = psutil.wait_procs(left, timeout=5)
        for process in stubborn:
            with contextlib.suppress(psutil.Error):
                process.kill()
        return len(left)


def measure(
    command: Sequence[str],
    env: dict[str, str],
    cwd: Path,
    *,
    progress: Callable[[], int] | None = None,
    timeout: float = 3600,
) -> Measurement:
    """Run `command` to its end, sampling its process tree; a failed run raises with the end of its output."""
    load_start = load_average()
    clock = cpu_clock()
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        process = subprocess.Popen(list(command), cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
        sampler = _Sampler(process.pid, progress)
        try:
            process.wait(timeout=timeout)
        except BaseException:  # a timeout, or the benchmark interrupted: the run does not outlive it
            process.kill()
            process.wait()
            raise
        finally:
            sampler.stop()
            seconds = time.perf_counter() - started
            stolen = stolen_share(clock, cpu_clock())
            left = sampler.end_leftovers()
        if left:
            print(f"   … {left} process(es) of {list(command)[:2]} outlived it: ended", flush=True)
        output.seek(0)
        text = output.read().decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{list(command)[:4]} failed ({process.returncode}):\n{text[-3000:]}")
    return Measurement(
        seconds=seconds,
        cpu_seconds=sum(sampler.cpu.values()),
        peak_browser_mb=round(sampler.peak_browser / MB, 1),
        peak_root_mb=round(sampler.peak_root / MB, 1),
        peak_tree_mb=round(sampler.peak_tree / MB, 1),
        load_start=load_start,
        load_end=load_average(),
        output=text,
        stolen=stolen,
        samples=sampler.samples,
    )


def windows(samples: Sequence[tuple[int, float]], size: int, total: int) -> list[float]:
    """The highest Chromium PSS (MB) in each window of `size` items out of `total`, from (items done, PSS) samples.

    Samples before the first item (the login) count in the first window, after the last one in the last window.
    """
    peaks: dict[int, float] = {}
    for done, pss in samples:
        window = min(done, total - 1) // size
        peaks[window] = max(peaks.get(window, 0.0), pss)
    return [peaks[window] for window in sorted(peaks)]
