"""Leases on work items (a fleet's workers sharing a run's items): each item is held by one worker at a time, a
worker whose lease was taken over can record nothing more, and a worker that dies loses no item."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.events import Effect, EffectState, ItemStatus
from runner.record import ItemLease, ItemLeases, LeaseLost, RunStore
from tests.waiting import wait_until

ROOT = Path(__file__).parents[2]
RUN, LOOP = "run-1", "dossiers"
# Keys as spreadsheets give them: accents, template syntax, a path, quotes.
HOSTILE_KEYS = ["Dossier é-1", "{{ secrets.x }}", "../../etc/passwd", 'O\'Brien "&" co', "  "]


@pytest.fixture
def store(store_url: str) -> Iterator[RunStore]:
    with RunStore(store_url) as opened:
        yield opened


def enqueue(leases: ItemLeases, count: int) -> list[str]:
    keys = [f"K-{number:04d}" for number in range(count)]
    assert (
        leases.enqueue(RUN, LOOP, [(key, number, {"n": number}) for number, key in enumerate(keys)]) == count
    )
    return keys


def expired_claim(leases: ItemLeases, worker: str, n: int = 10) -> list[ItemLease]:
    """A claim once the leases taken with 0 seconds are past (the next moment of the database's clock)."""
    return wait_until(lambda: leases.claim(RUN, LOOP, worker, n, 60), timeout=10)


class TestClaiming:
    def test_claims_take_pending_items_in_order_with_their_payload_and_mark_them_in_progress(
        self, store: RunStore
    ) -> None:
        leases = ItemLeases(store)
        assert (
            leases.enqueue(
                RUN, LOOP, [(key, n, {"ligne": n, "clé": key}) for n, key in enumerate(HOSTILE_KEYS)]
            )
            == 5
        )
        first = leases.claim(RUN, LOOP, "bot-a", 2, 60)
        second = leases.claim(RUN, LOOP, "bot-b", 10, 60)
        assert [lease.key for lease in first] == HOSTILE_KEYS[:2]
        assert [lease.key for lease in second] == HOSTILE_KEYS[2:]
        assert second[0].payload == {"ligne": 2, "clé": "../../etc/passwd"}
        assert all(not lease.reclaimed and lease.previous is None for lease in first + second)
        assert leases.claim(RUN, LOOP, "bot-c", 10, 60) == []
        rows = {row["key"]: row for row in store.run_items(RUN)}
        assert {row["status"] for row in rows.values()} == {ItemStatus.IN_PROGRESS}
        assert rows["{{ secrets.x }}"]["worker"] == "bot-a" and rows["  "]["worker"] == "bot-b"

    def test_enqueueing_again_keeps_what_the_workers_did(self, store: RunStore) -> None:
        leases = ItemLeases(store)
        enqueue(leases, 3)
        [lease] = leases.claim(RUN, LOOP, "bot-a", 1, 60)
        leases.begin(lease)
        leases.finish(lease, ItemStatus.DONE, outcome={"numéro": 7})
        assert leases.enqueue(RUN, LOOP, [(f"K-{n:04d}", n, None) for n in range(5)]) == 2
        rows = {row["key"]: row for row in store.run_items(RUN)}
        assert rows["K-0000"]["status"] == ItemStatus.DONE and rows["K-0000"]["outcome"] == {"numéro": 7}
        assert [row["status"] for key, row in sorted(rows.items())][1:] == [ItemStatus.PENDING] * 4

    def test_items_of_a_single_machine_run_are_never_claimed(self, store: RunStore) -> None:
        store.upsert_item(RUN, LOOP, "local", position=0, status=ItemStatus.IN_PROGRESS)
        assert ItemLeases(store).claim(RUN, LOOP, "bot-a", 10, 0) == []

    def test_threads_claiming_at_once_never_get_the_same_item(self, store: RunStore) -> None:
        leases = ItemLeases(store)
        keys = enqueue(leases, 120)
        start = threading.Barrier(8)
        taken: list[str] = []
        errors: list[BaseException] = []

        def work(worker: str) -> None:
            start.wait()
            try:
                while batch := leases.claim(RUN, LOOP, worker, 3, 60):
                    taken.extend(lease.key for lease in batch)
                    for lease in batch:
                        leases.finish(lease, ItemStatus.DONE)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=work, args=(f"bot-{n}",)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sorted(taken) == keys  # each once: none twice, none lost
        assert {row["status"] for row in store.run_items(RUN)} == {ItemStatus.DONE}

    def test_processes_claiming_at_once_never_get_the_same_item(
        self, store: RunStore, tmp_path: Path
    ) -> None:
        keys = enqueue(ItemLeases(store), 90)
        gate = tmp_path / "gate"
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    CLAIMER,
                    store.url,
                    f"bot-{n}",
                    str(gate),
                    str(tmp_path / f"ready-{n}"),
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(4)
        ]
        try:
            wait_until(lambda: all((tmp_path / f"ready-{n}").exists() for n in range(4)), timeout=60)
            gate.touch()
            outputs = [worker.communicate(timeout=120) for worker in workers]
        finally:
            for worker in workers:
                worker.kill()
        assert [(worker.returncode, err) for worker, (_out, err) in zip(workers, outputs, strict=True)] == [
            (0, "")
        ] * 4
        taken = [key for out, _err in outputs for key in json.loads(out)]
        assert sorted(taken) == keys
        assert Counter(row["worker"] for row in store.run_items(RUN)).keys() <= {f"bot-{n}" for n in range(4)}


CLAIMER = """
import json, sys, time
from pathlib import Path
from runner.record import ItemLeases, RunStore
url, worker, gate, ready = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
store = RunStore(url)
leases = ItemLeases(store)
ready.touch()
while not gate.exists():
    time.sleep(0.005)
taken = []
while batch := leases.claim("run-1", "dossiers", worker, 2, 60):
    for lease in batch:
        leases.finish(lease, "done")
        taken.append(lease.key)
store.close()
print(json.dumps(taken))
"""


class TestFencing:
    def test_a_worker_whose_lease_was_taken_over_can_record_nothing_more(self, store: RunStore) -> None:
        leases = ItemLeases(store)
        enqueue(leases, 1)
        [frozen] = leases.claim(RUN, LOOP, "bot-gelé", 1, 0)
        leases.begin(frozen)
        [taken] = expired_claim(leases, "bot-b")
        assert taken.reclaimed and taken.token > frozen.token
        effect = Effect("s2", "Enregistrer", "browser.click", EffectState.STARTED)
        with pytest.raises(LeaseLost, match="no longer held by worker bot-gelé: worker bot-b took it over"):
            leases.record_effect(frozen, effect)
        with pytest.raises(LeaseLost):
            leases.finish(frozen, ItemStatus.DONE, outcome={"by": "bot-gelé"})
        assert leases.renew([frozen, taken], 60) == [frozen]
        leases.finish(taken, ItemStatus.DONE, outcome={"by": "bot-b"})
        [row] = store.run_items(RUN)
        assert (row["status"], row["outcome"], row["worker"], row["effects"]) == (
            ItemStatus.DONE,
            {"by": "bot-b"},
            "bot-b",
            None,
        )
        with pytest.raises(LeaseLost, match="recorded as done already"):
            leases.finish(taken, ItemStatus.FAILED_APPLICATION)

    def test_a_renewed_lease_is_not_taken_over(self, store: RunStore) -> None:
        leases = ItemLeases(store)
        enqueue(leases, 1)
        [held] = leases.claim(RUN, LOOP, "bot-a", 1, 0)
        assert leases.renew([held], 60) == []
        assert leases.claim(RUN, LOOP, "bot-b", 1, 60) == []
        leases.finish(held, ItemStatus.FAILED_BUSINESS, error="refusé")
        assert store.run_items(RUN)[0]["status"] == ItemStatus.FAILED_BUSINESS

    def test_an_expired_lease_is_reclaimed_by_one_worker_only(self, store: RunStore) -> None:
        leases = ItemLeases(store)
        enqueue(leases, 1)
        [lost] = leases.claim(RUN, LOOP, "bot-a", 1, 0)
        leases.begin(lost)
        assert wait_until(lambda: leases.expired(RUN), timeout=10) == ["K-0000"]
        start = threading.Barrier(6)
        won: list[ItemLease] = []

        def reclaim(worker: str) -> None:
            start.wait()
            won.extend(leases.claim(RUN, LOOP, worker, 5, 60))

        threads = [threading.Thread(target=reclaim, args=(f"bot-{n}",)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(won) == 1 and won[0].reclaimed
        assert won[0].previous is not None and won[0].previous.status == ItemStatus.IN_PROGRESS

    def test_finishing_as_in_progress_is_a_mistake(self, store: RunStore) -> None:
        leases = ItemLeases(store)
        enqueue(leases, 1)
        [lease] = leases.claim(RUN, LOOP, "bot-a", 1, 60)
        with pytest.raises(ValueError, match="not 'in_progress'"):
            leases.finish(lease, ItemStatus.IN_PROGRESS)


class TestLosingNothing:
    def test_a_worker_killed_between_claim_and_finish_loses_no_item(
        self, store: RunStore, tmp_path: Path
    ) -> None:
        leases = ItemLeases(store)
        keys = enqueue(leases, 4)
        crashed = subprocess.run(
            [sys.executable, "-c", CRASHER, store.url], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert crashed.returncode == -9, crashed.stderr
        assert {row["status"] for row in store.run_items(RUN)} == {ItemStatus.IN_PROGRESS, ItemStatus.PENDING}
        back = expired_claim(leases, "bot-b")
        back += leases.claim(RUN, LOOP, "bot-b", 10, 60)
        assert sorted(lease.key for lease in back) == keys
        by_key = {lease.key: lease for lease in back}
        begun = by_key["K-0000"]
        assert begun.reclaimed and begun.previous is not None
        assert [(e.name, e.state) for e in begun.previous.touched] == [("Enregistrer", EffectState.STARTED)]
        assert not any(by_key[key].reclaimed for key in keys[1:])  # claimed, never begun: nothing to check

    def test_a_stopping_worker_gives_back_what_it_has_not_begun(self, store: RunStore) -> None:
        leases = ItemLeases(store)
        enqueue(leases, 3)
        current, *rest = leases.claim(RUN, LOOP, "bot-a", 3, 60)
        leases.begin(current)
        leases.release([current, *rest])
        assert {row["key"]: row["status"] for row in store.run_items(RUN)} == {
            "K-0000": ItemStatus.IN_PROGRESS,
            "K-0001": ItemStatus.PENDING,
            "K-0002": ItemStatus.PENDING,
        }
        with pytest.raises(LeaseLost):
            leases.finish(rest[0], ItemStatus.DONE)
        again = expired_claim(leases, "bot-b")
        assert [(lease.key, lease.reclaimed) for lease in again] == [
            ("K-0000", True),
            ("K-0001", False),
            ("K-0002", False),
        ]

    def test_a_resumed_run_reopens_its_failed_items_checked_first_and_leaves_those_to_check(
        self, store: RunStore
    ) -> None:
        leases = ItemLeases(store)
        enqueue(leases, 4)
        first = leases.claim(RUN, LOOP, "bot-a", 4, 60)
        submit = Effect("steps[1].steps[2]", "Enregistrer", "browser.fill_form", EffectState.STARTED)
        for lease, status in zip(
            first,
            [ItemStatus.DONE, ItemStatus.FAILED_APPLICATION, ItemStatus.FAILED_BUSINESS, ItemStatus.TO_CHECK],
            strict=True,
        ):
            leases.begin(lease)
            if lease.key == "K-0001":
                leases.record_effect(lease, submit)
            leases.finish(lease, status, error="refusé" if status != ItemStatus.DONE else None)
        assert leases.reopen_failed(RUN, LOOP) == 2
        again = leases.claim(RUN, LOOP, "bot-b", 10, 60)
        assert [lease.key for lease in again] == ["K-0001", "K-0002"]  # done and to-check items stay
        assert all(lease.reclaimed for lease in again)  # begun before: the engine checks them first
        assert again[0].previous is not None and again[0].previous.touched == [submit]
        with pytest.raises(LeaseLost):
            leases.finish(first[1], ItemStatus.DONE)  # the first session's lease is spent


CRASHER = """
import os, signal, sys
from runner.events import Effect, EffectState
from runner.record import ItemLeases, RunStore
store = RunStore(sys.argv[1])
leases = ItemLeases(store)
batch = leases.claim("run-1", "dossiers", "bot-a", 3, 0)
leases.begin(batch[0])
leases.record_effect(batch[0], Effect("s2", "Enregistrer", "browser.click", EffectState.STARTED))
os.kill(os.getpid(), signal.SIGKILL)
"""
