"""An untrusted workflow file or value cannot exhaust the machine: validating and rendering are bounded.

Each `robo` process runs under a memory limit (a safety net, far above what it should use) and a timeout, and the
test measures what it really used: a hostile template is validated in at most 1 s of CPU and 200 MB, and a run
that renders it fails with a clear error naming the step. Some templates are written twice: as in issue #11, and
at a size that fits under the safety net, so that code which computes them shows how much it spent.
"""

from __future__ import annotations

import json
import os
import re
import resource
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from robots.kit import MESSAGE_WIDTH
from runner.language import validate_file
from runner.language.templating import TemplateError, render_string
from runner.language.templating import limits as template_limits

ROOT = Path(__file__).resolve().parents[2]
SAFETY_MEMORY = 1024 * 1024 * 1024  # bytes of address space a `robo` process may take before it is refused
SAFETY_TIMEOUT = 60.0  # seconds before a `robo` process is killed: the test has failed by then
VALIDATION_MEMORY = 200 * 1024 * 1024  # the issue's bound on validating a hostile file
VALIDATION_CPU_SECONDS = 1.0  # beyond what validating a harmless workflow takes (start-up, imports)
# A run's process: what it needs itself, plus what one rendering may add (MAX_RENDER_MEMORY, values up to the
# size limits).
RENDERING_MEMORY = 300 * 1024 * 1024

HOSTILE = {
    "repeat-text": "{{ 'ab' * 400000000 }}",
    "repeat-text-600M": "{{ 'a' * 6 * 10**8 }}",
    "repeat-text-1G": "{{ 'a' * 10**9 }}",
    "repeat-list": "{{ [1] * 10**9 }}",
    "repeat-list-100M": "{{ [1] * 10**8 }}",
    "format-width": "{{ '%999999999d' | format(1) }}",
    "format-width-600M": "{{ '%600000000d' | format(1) }}",
    "percent-width-600M": "{{ '%600000000d' % 1 }}",
    "str-format-width-600M": "{{ '{:600000000}'.format(1) }}",
    "center": "{{ 'x' | center(10**9) }}",
    "center-600M": "{{ 'x' | center(600000000) }}",
    "range-list": "{{ range(10**9) | list }}",
    "power": "{{ 10**10**10 }}",
    "power-of-power": "{{ 10 ** (10 ** 10) }}",
    "nested-range": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "doubling": "{% set ns = namespace(t='ab') %}{% for i in range(40) %}{% set ns.t = ns.t ~ ns.t %}{% endfor %}",
    "join-range": "{{ range(100000) | join('x' * 10000) }}",
    "number-digits": "{{ '1e600000000' | number_fr }}",
    "endless-macro": "{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}",
    "plus-doubling": "{% set ns = namespace(t='ab') %}{% for i in range(40) %}{% set ns.t = ns.t + ns.t %}{% endfor %}",
    "captured-block": "{% set x %}{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}{% endset %}{{ x | length }}",
    "replace-method-600M": "{{ ('x' * 1000).replace('x', 'y' * 600000) }}",
    "indent-300M": "{{ 'a\\nb' | indent(300000000, true) }}",
    "batch-fill": "{{ range(3) | batch(10**8, 0) | list }}",
    "wordwrap": "{{ ('ab ' * 1000) | wordwrap(1, wrapstring='z' * 1000000) }}",
    "map-join": "{{ range(100000) | map('center', 10000) | join }}",
    "map-list": "{{ range(100000) | map('center', 10000) | list | length }}",
    "literal-loop": "{% for i in range(99999) %}{% for j in range(9) %}" + "z" * 2000 + "{% endfor %}" * 2,
}
# What the error of each says (a limit's name and number).
LIMIT_WORDS = (
    "more than the limit of",
    "times in one rendering",
    "call themselves too deeply",
    "MB of memory",
    "stopped after running for more than",  # the time bound, reached first on a loaded machine
)
# Those that `robo validate` can tell will fail from their constants alone, without computing them.
SEEN_BY_VALIDATION = set(HOSTILE) - {
    *("power", "nested-range", "doubling", "number-digits", "endless-macro", "plus-doubling"),
    *("captured-block", "wordwrap", "map-join", "map-list", "literal-loop"),
}
# Jinja's ** groups from the left: `10**10**10` is (10**10)**10, a number of 101 digits that a run may write.
TOO_MUCH = {name: template for name, template in HOSTILE.items() if name != "power"}


@dataclass
class Finished:
    """A `robo` process that ended: its exit code, what it printed, its peak memory and CPU time."""

    returncode: int
    output: str
    peak_memory: int
    cpu_seconds: float
    killed: bool


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (SAFETY_MEMORY, SAFETY_MEMORY))


# `robo` started through runpy so that it writes its own peak memory when it exits: VmHWM counts only this
# process's memory, whereas the kernel's ru_maxrss also counts the test process's memory copied by the fork.
LAUNCHER = """
import atexit, os, runpy, sys

def report_peak():
    with open("/proc/self/status") as status, open(os.environ["ROBO_TEST_PEAK_FILE"], "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])

atexit.register(report_peak)
sys.argv[0] = "robo"
runpy.run_module("runner.cli", run_name="__main__", alter_sys=True)
"""


def robo_bounded(*args: str, cwd: Path) -> Finished:
    """`robo ARGS` under the safety limits, with the memory and CPU time it used."""
    stamp = time.monotonic_ns()
    output, peak = cwd / f".robo-output-{stamp}.txt", cwd / f".robo-peak-{stamp}.txt"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, *args],
            cwd=cwd,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "ROBO_STORE_URL": f"sqlite:///{cwd / 'robo.db'}",
                "ROBO_TEST_PEAK_FILE": str(peak),
            },
            preexec_fn=_limit_memory,
        )
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            process.kill()

        timer = threading.Timer(SAFETY_TIMEOUT, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
    peak_kb = int(peak.read_text(encoding="ascii")) if peak.exists() else SAFETY_MEMORY // 1024
    return Finished(
        process.returncode,
        output.read_text(encoding="utf-8", errors="replace"),
        peak_kb * 1024,
        usage.ru_utime + usage.ru_stime,
        killed.is_set(),
    )


def hostile_workflow(template: str) -> str:
    return f"name: Hostile\nsteps:\n  - name: Écrire le message\n    log: {json.dumps(template)}\n"


@pytest.fixture(scope="module")
def startup_cpu_seconds(tmp_path_factory: pytest.TempPathFactory) -> float:
    """The CPU a `robo validate` of a harmless workflow takes here (Python, imports, catalogs, coverage when it
    measures): what the bound on a hostile template's validation comes on top of."""
    folder = tmp_path_factory.mktemp("harmless")
    (folder / "hostile.yaml").write_text(hostile_workflow("bonjour {{ run.id }}"), encoding="utf-8")
    finished = robo_bounded("validate", "hostile.yaml", cwd=folder)
    assert finished.returncode == 0, finished.output
    return finished.cpu_seconds


class TestValidation:
    @pytest.mark.parametrize("name", HOSTILE)
    def test_a_hostile_template_is_validated_quickly_in_little_memory(
        self, name: str, tmp_path: Path, startup_cpu_seconds: float
    ) -> None:
        (tmp_path / "hostile.yaml").write_text(hostile_workflow(HOSTILE[name]), encoding="utf-8")

        finished = robo_bounded("validate", "hostile.yaml", cwd=tmp_path)

        assert not finished.killed, f"validation still ran after {SAFETY_TIMEOUT} s"
        assert "Traceback" not in finished.output and "internal-error" not in finished.output
        # Valid syntax: a warning at most, and the run fails at the step (see TestRendering).
        assert finished.returncode == 0, finished.output
        assert "hostile.yaml: ok" in finished.output
        if name in SEEN_BY_VALIDATION:
            assert (
                "hostile.yaml:4:10: warning[template-limit]: this template will fail when it runs: this "
                "would build" in finished.output
            )
        assert finished.peak_memory <= VALIDATION_MEMORY, f"{finished.peak_memory / 2**20:.0f} MB"
        spent = finished.cpu_seconds - startup_cpu_seconds
        assert spent <= VALIDATION_CPU_SECONDS, f"{spent:.2f} s of CPU beyond a harmless workflow's"

    def test_lorem_ipsum_which_writes_any_number_of_paragraphs_is_not_a_name_templates_know(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "hostile.yaml").write_text(hostile_workflow("{{ lipsum(10**9) }}"), encoding="utf-8")

        finished = robo_bounded("validate", "hostile.yaml", cwd=tmp_path)

        assert "hostile.yaml:4:10: error[undefined-variable]: 'lipsum' is not defined" in finished.output
        assert finished.peak_memory <= VALIDATION_MEMORY, f"{finished.peak_memory / 2**20:.0f} MB"

    def test_the_filters_that_count_a_rendering_are_never_offered_to_a_workflow(self, tmp_path: Path) -> None:
        (tmp_path / "filtre.yaml").write_text(hostile_workflow("{{ [1] | loop }}"), encoding="utf-8")

        result = validate_file(tmp_path / "filtre.yaml")

        (diagnostic,) = result.errors
        assert diagnostic.code == "unknown-filter" and "robo:" not in str(diagnostic.hint)


class TestRendering:
    @pytest.mark.parametrize("name", TOO_MUCH)
    def test_a_run_that_renders_a_hostile_template_fails_clearly_and_in_bounds(
        self, name: str, tmp_path: Path
    ) -> None:
        (tmp_path / "hostile.yaml").write_text(hostile_workflow(TOO_MUCH[name]), encoding="utf-8")

        finished = robo_bounded("run", "hostile.yaml", cwd=tmp_path)

        assert not finished.killed, f"the run still rendered after {SAFETY_TIMEOUT} s"
        assert "Traceback" not in finished.output and "MemoryError" not in finished.output
        assert finished.returncode == 1, finished.output
        assert "step 'Écrire le message' failed" in finished.output
        assert any(words in finished.output for words in LIMIT_WORDS), finished.output
        assert finished.peak_memory <= RENDERING_MEMORY, f"{finished.peak_memory / 2**20:.0f} MB"

    def test_a_width_from_a_data_cell_fails_only_its_item(self, tmp_path: Path) -> None:
        (tmp_path / "largeurs.csv").write_text(
            "reference;largeur\nA;5\nB;1000000000\nC;7\n", encoding="utf-8"
        )
        (tmp_path / "largeurs.yaml").write_text(
            "name: Largeurs\nsteps:\n  - data.read_csv: {path: largeurs.csv}\n    save: lignes\n"
            '  - for_each: "{{ lignes }}"\n    as: ligne\n    key: ligne.reference\n    steps:\n'
            "      - name: Centrer\n        log: \"[{{ 'x' | center(ligne.largeur | int) }}]\"\n",
            encoding="utf-8",
        )

        finished = robo_bounded("run", "largeurs.yaml", cwd=tmp_path)

        assert not finished.killed and "Traceback" not in finished.output
        assert finished.returncode == 3, finished.output  # completed with errors
        assert "[  x  ]" in finished.output and "[   x   ]" in finished.output  # A and C were done
        assert "] B ✗ failed: the data was refused: step 'Centrer' failed" in finished.output
        assert "a text of 1,000,000,000 characters, more than the limit of 10,000,000" in finished.output
        assert finished.peak_memory <= RENDERING_MEMORY, f"{finished.peak_memory / 2**20:.0f} MB"


class TestFilesThatAreNotWorkflows:
    def test_a_fifo_named_yaml_in_a_validated_folder_is_reported_not_waited_for(self, tmp_path: Path) -> None:
        folder = tmp_path / "flux"
        folder.mkdir()
        (folder / "bon.yaml").write_text("name: Bon\nsteps:\n  - log: bonjour\n", encoding="utf-8")
        os.mkfifo(folder / "tube.yaml")

        finished = robo_bounded("validate", "flux", cwd=tmp_path)

        assert not finished.killed, "validate waited for a writer on the FIFO"
        assert "flux/bon.yaml: ok" in finished.output
        assert (
            "flux/tube.yaml:1:1: error[file-not-readable]: flux/tube.yaml is not a regular file but a named pipe"
            in finished.output
        )
        assert finished.returncode == 1

    def test_a_device_linked_as_a_workflow_is_not_read(self, tmp_path: Path) -> None:
        (tmp_path / "zero.yaml").symlink_to("/dev/zero")
        assert stat.S_ISCHR(os.stat(tmp_path / "zero.yaml").st_mode)

        finished = robo_bounded("validate", "zero.yaml", cwd=tmp_path)

        assert not finished.killed and "Traceback" not in finished.output
        assert "zero.yaml is not a regular file but a character device" in finished.output
        assert finished.peak_memory <= VALIDATION_MEMORY, f"{finished.peak_memory / 2**20:.0f} MB"

    def test_a_workflow_file_larger_than_the_limit_is_not_read(self, tmp_path: Path) -> None:
        with (tmp_path / "enorme.yaml").open("w", encoding="utf-8") as handle:
            handle.write("name: Énorme\nsteps:\n  - log: bonjour\n")
            handle.write(("# " + "x" * 1000 + "\n") * 200_000)  # 200 MB of comments

        finished = robo_bounded("validate", "enorme.yaml", cwd=tmp_path)

        assert not finished.killed and "Traceback" not in finished.output
        assert "enorme.yaml is larger than 10 MB: it was not read" in finished.output
        assert finished.returncode == 1
        assert finished.peak_memory <= VALIDATION_MEMORY, f"{finished.peak_memory / 2**20:.0f} MB"


class TestConsoleWidth:
    def test_a_huge_log_line_and_error_are_cut_in_the_console_and_kept_whole_in_the_audit_log(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "long.yaml").write_text(
            "name: Long\nsteps:\n  - log: \"{{ 'L' * 1000000 }}\"\n  - name: Refuser\n"
            "    fail: \"{{ 'E' * 50000 }}\"\n",
            encoding="utf-8",
        )

        finished = robo_bounded("run", "long.yaml", cwd=tmp_path)

        assert finished.returncode == 1, finished.output
        longest = max(len(line) for line in finished.output.splitlines())
        assert longest <= MESSAGE_WIDTH + 100, f"a line of {longest} characters was printed"
        for letter, length in (("L", 1_000_000), ("E", 50_000)):
            cuts = re.findall(f"({letter}+)… \\(([0-9,]+) more characters\\)", finished.output)
            assert cuts, f"the {letter} line was not cut"
            assert all(len(shown) + int(left.replace(",", "")) == length for shown, left in cuts)
        audit = next(tmp_path.glob("logs/long/*/audit.jsonl")).read_text(encoding="utf-8")
        assert "L" * 1000000 in audit and "E" * 50000 in audit

        (run,) = json.loads(robo_bounded("runs", "list", "--format", "json", cwd=tmp_path).output)
        shown = robo_bounded("runs", "show", run["id"], cwd=tmp_path)
        assert shown.returncode == 0, shown.output
        assert "E" * 50 in shown.output and "more characters" in shown.output
        assert len(shown.output.splitlines()) < 100, "the error was printed whole, over hundreds of lines"


class TestRenderingTime:
    def test_a_rendering_that_runs_too_long_is_stopped_with_a_clear_error(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Under the iteration and size limits, but each iteration sums 100 000 numbers: seconds in all.
        heavy = "{% for i in range(2000) %}{{ range(100000) | sum }}{% endfor %}"
        monkeypatch.setattr(template_limits, "MAX_RENDER_SECONDS", 0.3)
        started = time.monotonic()

        with pytest.raises(
            TemplateError, match=r"the template was stopped after running for more than 0\.3 s"
        ):
            render_string(heavy, {})

        assert time.monotonic() - started < 1.5


ORDINARY = {  # every guarded operator, filter and method, used as workflows use them: unchanged results
    "{{ 'ab' * 3 }}|{{ [1] * 2 }}|{{ 2 ** 10 }}|{{ 7 % 3 }}|{{ 'a' + 'b' }}|{{ [1] + [2] }}": "ababab|[1, 1]|1024|1|ab|[1, 2]",
    "{{ '%05.1f' % 3.14159 }}|{{ '%s-%s' | format('a', 'b') }}|{{ '{:>4}'.format('x') }}": "003.1|a-b|   x",
    "{{ 'x' | center(5) }}|{{ 'a\\nb' | indent(2) }}|{{ 'x'.rjust(3, '.') }}|{{ '7'.zfill(3) }}": "  x  |a\n  b|..x|007",
    "{{ [1, 2] | join(',') }}|{{ rows | join(', ', attribute='nom') }}|{{ '-'.join(['a', 'b']) }}": "1,2|Ana, Bo|a-b",
    "{{ 'aXa' | replace('X', 'yy') }}|{{ 'aXa'.replace('X', 'zz') }}|{{ 'a b c' | wordwrap(3) }}": "ayya|azza|a b\nc",
    "{{ range(5) | batch(2) | list }}|{{ range(5) | slice(2) | list }}|{{ range(3) | list }}": "[[0, 1], [2, 3], [4]]|[[0, 1, 2], [3, 4]]|[0, 1, 2]",
    "{% for r in rows %}{{ loop.index }}:{{ r.nom ~ '!' }}{{ ',' if not loop.last }}{% endfor %}": "1:Ana!,2:Bo!",
    "{% set ns = namespace(t='') %}{% for r in rows %}{% set ns.t = ns.t ~ r.nom %}{% endfor %}{{ ns.t }}": "AnaBo",
    "{{ rows | map(attribute='nom') | map('upper') | join('/') }}|{{ 1234.5 | number_fr }}": "ANA/BO|1\u202f234,50",
}


class TestOrdinaryTemplates:
    @pytest.mark.parametrize("template", ORDINARY)
    def test_a_template_within_the_limits_gives_what_it_always_gave(self, template: str) -> None:
        assert render_string(template, {"rows": [{"nom": "Ana"}, {"nom": "Bo"}]}) == ORDINARY[template]
