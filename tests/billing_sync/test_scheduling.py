"""Next sync times: midnight in the company's zone, daylight saving, back-off."""

import datetime
import zoneinfo

from icb.billing_sync.scheduling import next_midnight, retry_at

UTC = datetime.UTC


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).astimezone(UTC)


def test_next_midnight_is_in_the_company_zone_and_stored_utc():
    got = next_midnight(at("2026-11-26T15:00:00+00:00"), "America/New_York")
    assert got == at("2026-11-27T05:00:00+00:00") and got.tzinfo is UTC
    # 23:30 in New York is already the 27th in UTC: still the midnight of the 27th local.
    assert next_midnight(at("2026-11-27T04:30:00+00:00"), "America/New_York") == at(
        "2026-11-27T05:00:00+00:00"
    )
    # Exactly midnight: the next one.
    assert next_midnight(at("2026-11-27T05:00:00+00:00"), "America/New_York") == at(
        "2026-11-28T05:00:00+00:00"
    )
    assert next_midnight(at("2026-11-26T23:30:00+00:00"), "Asia/Kolkata") == at(
        "2026-11-27T18:30:00+00:00"
    )


def test_usual_dst_days_keep_midnight_local():
    # New York springs forward at 02:00 and falls back at 02:00: midnight exists both days.
    spring = next_midnight(at("2026-03-08T12:00:00-04:00"), "America/New_York")
    assert spring.astimezone(zoneinfo.ZoneInfo("America/New_York")).hour == 0
    autumn = next_midnight(at("2026-10-31T12:00:00-04:00"), "America/New_York")
    assert autumn == at("2026-11-01T00:00:00-04:00")


def test_a_midnight_that_does_not_exist_becomes_the_first_time_after_it():
    # Santiago de Chile: on 2026-09-06 clocks jump from 00:00 to 01:00.
    zone = zoneinfo.ZoneInfo("America/Santiago")
    got = next_midnight(at("2026-09-05T12:00:00-04:00"), zone)
    local = got.astimezone(zone)
    assert (local.date(), local.hour, local.minute) == (datetime.date(2026, 9, 6), 1, 0)
    assert got == at("2026-09-06T04:00:00+00:00")
    # And the day after is a normal midnight again.
    assert next_midnight(got, zone).astimezone(zone).hour == 0


def test_backoff_grows_and_is_capped():
    now = at("2026-11-26T10:00:00+00:00")
    delays = [retry_at(now, n) - now for n in (1, 2, 3, 4, 10)]
    assert [d.total_seconds() / 60 for d in delays] == [5, 15, 60, 60, 60]
    assert retry_at(now, 1, retry_after=1200) - now == datetime.timedelta(seconds=1200)
