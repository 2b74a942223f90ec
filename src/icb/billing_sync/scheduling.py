"""When a service syncs next: the next midnight in the company's time zone after a
success, a growing back-off after a failure. All results are aware UTC datetimes."""

import datetime
import zoneinfo

UTC = datetime.UTC

# Retry after 5, 15, then every 60 minutes (capped) while the failure lasts.
RETRY_BACKOFF = (
    datetime.timedelta(minutes=5),
    datetime.timedelta(minutes=15),
    datetime.timedelta(minutes=60),
)


def _exists(local: datetime.datetime, zone: zoneinfo.ZoneInfo) -> bool:
    """Whether a naive wall-clock time exists in the zone (not skipped by a DST gap)."""
    aware = local.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local


def next_midnight(now: datetime.datetime, zone: zoneinfo.ZoneInfo | str) -> datetime.datetime:
    """The first midnight strictly after `now` in `zone`, in UTC. On a day whose
    midnight does not exist (a daylight-saving gap starting at midnight), the first
    wall-clock time after it that exists."""
    if isinstance(zone, str):
        zone = zoneinfo.ZoneInfo(zone)
    local_day = now.astimezone(zone).date() + datetime.timedelta(days=1)
    midnight = datetime.datetime.combine(local_day, datetime.time(0))
    candidate = midnight
    for _minute in range(24 * 60):
        if _exists(candidate, zone):
            break
        candidate += datetime.timedelta(minutes=1)
    # fold=0: at an ambiguous midnight (clocks set back over it) the first one.
    return candidate.replace(tzinfo=zone, fold=0).astimezone(UTC)


def retry_at(
    now: datetime.datetime, retry_count: int, retry_after: float | None = None
) -> datetime.datetime:
    """When to try again after the `retry_count`-th failure in a row (1 = the first)."""
    delay = RETRY_BACKOFF[min(max(retry_count, 1), len(RETRY_BACKOFF)) - 1]
    if retry_after:
        delay = max(delay, datetime.timedelta(seconds=min(retry_after, 86400)))
    return now + delay
