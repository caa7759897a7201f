"""What a watcher fires: settled files the ledger lacks, once per wait for their run, one delivery per interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from media_platform.triggers.intervals import Interval
from media_platform.triggers.watch import MAX_NAMED_FILES, Delivery, DeliveryWatch, Seen

DAY_2 = Interval(datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
DAY_3 = Interval(datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC))
T0 = datetime(2026, 11, 3, 12, tzinfo=UTC)
MTIME = datetime(2026, 11, 3, 11, tzinfo=UTC)


def seen(relative: str, interval: Interval = DAY_3, size: int = 100) -> Seen:
    return Seen(relative, size, MTIME, None, interval)


def poll(watch: DeliveryWatch, files: list[Seen], now: datetime, loaded=frozenset(), processed=None):
    return watch.poll(now, watch.settled(files), set(loaded), processed or {})


def test_a_file_fires_once_it_is_settled_and_not_again_while_its_run_is_pending() -> None:
    watch = DeliveryWatch("demo_adi", refire_after=timedelta(hours=2))
    files = [seen("2026-11-03/a.xml")]
    assert poll(watch, files, T0) == []  # first sight: it may still be uploading
    assert poll(watch, files, T0 + timedelta(seconds=5)) == [Delivery("demo_adi", DAY_3, ("2026-11-03/a.xml",))]
    assert watch.pending_since() == T0 + timedelta(seconds=5)
    assert poll(watch, files, T0 + timedelta(seconds=10)) == []


def test_a_growing_file_waits_until_its_size_stops_changing() -> None:
    watch = DeliveryWatch("demo_adi", refire_after=timedelta(hours=2))
    for step, size in enumerate((10, 20, 30)):
        assert poll(watch, [seen("2026-11-03/a.xml", size=size)], T0 + timedelta(seconds=step)) == []
    assert len(poll(watch, [seen("2026-11-03/a.xml", size=30)], T0 + timedelta(seconds=3))) == 1


def test_files_the_ledger_holds_never_fire() -> None:
    watch = DeliveryWatch("demo_adi", refire_after=timedelta(hours=2))
    files = [seen("2026-11-03/a.xml"), seen("2026-11-03/b.xml")]
    poll(watch, files, T0)
    fired = poll(watch, files, T0 + timedelta(seconds=5), loaded={"2026-11-03/a.xml"})
    assert fired == [Delivery("demo_adi", DAY_3, ("2026-11-03/b.xml",))]
    # b is loaded now: nothing waits any more
    assert poll(watch, files, T0 + timedelta(seconds=10), loaded={"2026-11-03/a.xml", "2026-11-03/b.xml"}) == []
    assert watch.pending_since() is None


def test_one_delivery_per_interval_earliest_first() -> None:
    watch = DeliveryWatch("demo_adi", refire_after=timedelta(hours=2))
    files = [seen("2026-11-03/a.xml"), seen("2026-11-02/late.xml", DAY_2), seen("2026-11-03/b.xml")]
    poll(watch, files, T0)
    fired = poll(watch, files, T0 + timedelta(seconds=5))
    assert fired == [
        Delivery("demo_adi", DAY_2, ("2026-11-02/late.xml",)),
        Delivery("demo_adi", DAY_3, ("2026-11-03/a.xml", "2026-11-03/b.xml")),
    ]
    assert fired[1].payload() == {
        "provider_id": "demo_adi",
        "interval_start": "2026-11-03T00:00:00+00:00",
        "interval_end": "2026-11-04T00:00:00+00:00",
        "file_count": 2,
        "files": ["2026-11-03/a.xml", "2026-11-03/b.xml"],
    }


def test_a_big_delivery_names_only_its_first_files() -> None:
    delivery = Delivery("demo_adi", DAY_3, tuple(f"2026-11-03/{n:03}.xml" for n in range(MAX_NAMED_FILES + 5)))
    assert delivery.payload()["file_count"] == MAX_NAMED_FILES + 5
    assert len(delivery.payload()["files"]) == MAX_NAMED_FILES


def test_an_unloaded_file_fires_again_after_the_wait_a_bounded_number_of_times() -> None:
    watch = DeliveryWatch("demo_adi", refire_after=timedelta(minutes=30), max_refires=2)
    files = [seen("2026-11-03/a.xml")]
    poll(watch, files, T0)
    fires = []
    for minute in range(0, 200, 5):
        fires += poll(watch, files, T0 + timedelta(minutes=minute, seconds=5))
    assert len(fires) == 3  # the first fire and two more; then the sweep has it


def test_a_file_its_interval_ran_without_loading_is_not_fired_again() -> None:
    watch = DeliveryWatch("demo_adi", refire_after=timedelta(minutes=30))
    files = [seen("2026-11-03/broken.xml")]
    poll(watch, files, T0)
    fired_at = T0 + timedelta(seconds=5)
    assert len(poll(watch, files, fired_at)) == 1
    # a batch of its interval started after it fired and did not load it (quarantined as unreadable, say)
    processed = {DAY_3: fired_at + timedelta(seconds=3)}
    assert poll(watch, files, fired_at + timedelta(hours=5), processed=processed) == []
    assert watch.pending_since() is None
    # a batch of another interval, or one that started before the fire, does not count
    other = DeliveryWatch("demo_adi", refire_after=timedelta(minutes=30))
    poll(other, files, T0)
    poll(other, files, fired_at)
    stale = {DAY_3: fired_at - timedelta(seconds=1)}
    assert len(poll(other, files, fired_at + timedelta(hours=1), processed=stale)) == 1


def test_a_file_passed_over_for_another_interval_fires_again_at_once() -> None:
    """A run that consumed deliveries of two intervals loads one of them; the other's files fire again for the next
    run without waiting out refire_after."""
    watch = DeliveryWatch("demo_adi", refire_after=timedelta(hours=2))
    files = [seen("2026-11-02/late.xml", DAY_2), seen("2026-11-03/a.xml")]
    poll(watch, files, T0)
    fired_at = T0 + timedelta(seconds=5)
    assert len(poll(watch, files, fired_at)) == 2
    later = fired_at + timedelta(seconds=30)
    # the run loaded DAY_2 (the earliest interval); DAY_3 had no batch since its fire
    processed = {DAY_2: fired_at + timedelta(seconds=2)}
    again = poll(watch, files, later, loaded={"2026-11-02/late.xml"}, processed=processed)
    assert again == [Delivery("demo_adi", DAY_3, ("2026-11-03/a.xml",))]
    # and not on every poll after: only a batch started after this new fire would count
    assert poll(watch, files, later + timedelta(seconds=5), loaded={"2026-11-02/late.xml"}, processed=processed) == []


def test_a_replaced_file_is_a_new_delivery() -> None:
    watch = DeliveryWatch("demo_adi", refire_after=timedelta(hours=2))
    poll(watch, [seen("2026-11-03/a.xml")], T0)
    assert len(poll(watch, [seen("2026-11-03/a.xml")], T0 + timedelta(seconds=5))) == 1
    poll(watch, [seen("2026-11-03/a.xml", size=200)], T0 + timedelta(seconds=10))
    assert len(poll(watch, [seen("2026-11-03/a.xml", size=200)], T0 + timedelta(seconds=15))) == 1
