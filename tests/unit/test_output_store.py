"""The per-user output store under concurrent use: puts and evictions from other jobs (threads
of a run, or other runs sharing the store) never break a run."""

from __future__ import annotations

import threading
from pathlib import Path

from lipflow.run.cache import OutputStore


def _output(folder: Path, name: str, size: int) -> tuple[str, int, float | None]:
    path = folder / name
    path.write_bytes(b"x" * size)
    return str(path), size, None


def test_an_entry_still_being_written_is_not_evicted_or_measured(tmp_path: Path) -> None:
    store = OutputStore(tmp_path / "store", max_bytes=10)
    half_written = tmp_path / "store" / "ab" / ".abkey.1234.tmp"
    half_written.mkdir(parents=True)
    (half_written / "entry.json").write_text("{}", encoding="utf-8")
    (half_written / "0.mp4").write_bytes(b"x" * 100)

    store.evict()

    assert (half_written / "0.mp4").exists()


def test_puts_and_evictions_from_many_threads_at_once_raise_nothing(tmp_path: Path) -> None:
    store = OutputStore(tmp_path / "store", max_bytes=300)
    sources = tmp_path / "outputs"
    sources.mkdir()
    errors: list[BaseException] = []

    def put_many(worker: int) -> None:
        try:
            for n in range(40):
                key = f"{worker:02x}{n:062x}"
                store.put(key, [_output(sources, f"{worker}-{n}.mp4", 100)], 0.01)
                store.get(key)
        except BaseException as exc:  # collected: the test fails on any of them
            errors.append(exc)

    threads = [threading.Thread(target=put_many, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    kept = sum(f.stat().st_size for f in (tmp_path / "store").glob("*/*/*.mp4"))
    assert kept <= 300 + 4 * 100, "the cap holds, give or take the entries being put"


def _stored(root: Path) -> int:
    return sum(f.stat().st_size for f in root.glob("*/*/*") if f.is_file())


def test_a_full_store_keeps_its_cap_by_evicting_the_least_recently_used(tmp_path: Path) -> None:
    store = OutputStore(tmp_path / "store", max_bytes=3000)
    sources = tmp_path / "outputs"
    sources.mkdir()
    keys = [f"{n:064x}" for n in range(60)]

    for n, key in enumerate(keys):
        store.put(key, [_output(sources, f"{n}.mp4", 100)], 0.01)

    assert _stored(tmp_path / "store") <= 3000
    assert store.get(keys[-1]) is not None, "the newest entry is kept"
    assert store.get(keys[0]) is None, "the oldest went first"


def test_what_another_run_puts_into_a_shared_store_counts_against_the_cap(tmp_path: Path) -> None:
    ours = OutputStore(tmp_path / "store", max_bytes=5000)
    theirs = OutputStore(tmp_path / "store", max_bytes=10**9)  # a run with a larger cap set
    sources = tmp_path / "outputs"
    sources.mkdir()
    ours.put(f"{0:064x}", [_output(sources, "first.mp4", 100)], 0.01)
    for n in range(60):
        theirs.put(f"{n + 1:064x}", [_output(sources, f"theirs-{n}.mp4", 100)], 0.01)
    assert _stored(tmp_path / "store") > 5000

    for n in range(70):
        ours.put(f"{n + 100:064x}", [_output(sources, f"ours-{n}.mp4", 1)], 0.01)

    assert _stored(tmp_path / "store") <= 5000


def test_the_store_lists_the_keys_it_holds_but_not_an_entry_still_being_written(
    tmp_path: Path,
) -> None:
    store = OutputStore(tmp_path / "store", max_bytes=10_000)
    sources = tmp_path / "outputs"
    sources.mkdir()
    store.put("ab" + "1" * 62, [_output(sources, "a.mp4", 10)], 0.01)
    (tmp_path / "store" / "cd" / ".cd2222.1234.tmp").mkdir(parents=True)

    assert store.held_keys() == {"ab" + "1" * 62}
    assert OutputStore(tmp_path / "store", max_bytes=0).held_keys() == frozenset()
    assert OutputStore(tmp_path / "nowhere", max_bytes=10_000).held_keys() == frozenset()


def test_the_store_lists_the_jobs_a_recipe_last_paid_for_by_their_record_names(
    tmp_path: Path,
) -> None:
    store = OutputStore(tmp_path / "store", max_bytes=10_000)
    assert store.named_records() == frozenset()

    store.remember("dub", "dub.es", "k" * 64, {"model": "m"})

    assert store.named_records() == {store.record_name("dub", "dub.es")}
    assert store.record_name("dub", "dub.fr") not in store.named_records()
    assert store.last("dub", "dub.es") == ("k" * 64, {"model": "m"})
