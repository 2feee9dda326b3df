"""The one clock of the application.

Nothing below the command line asks the system for the time: the CLI edge builds one `Clock`
(the system clock, `SystemClock`) and passes it down; every rule about dates (training validity,
fiscal-year loans, retention, expiry of kept copies, 基準日) reads it from there. Tests pass a
`FixedClock` and can run the whole product years ahead.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone


class Clock:
    """Local time with its UTC offset; `today()` and `timestamp()` derive from `now()`."""

    def now(self) -> datetime:  # pragma: no cover - overridden
        raise NotImplementedError

    def today(self) -> date:
        return self.now().date()

    def timestamp(self) -> str:
        """ISO 8601 to the second, with the offset (the ledger's and the log's form)."""
        return self.now().isoformat(timespec="seconds")

    def zip_time(self) -> tuple[int, int, int, int, int, int]:
        """The local wall time of a ZIP entry (ZIP keeps no time zone)."""
        return self.now().timetuple()[:6]


class SystemClock(Clock):
    """The machine's clock, in its local time zone. Built only at the CLI edge."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc).astimezone()


class FixedClock(Clock):
    """A clock that shows what it is set to (tests; `demo` runs on the system clock)."""

    def __init__(self, at: datetime | date | str, tz: timezone = timezone(timedelta(hours=9))) -> None:
        self._at = self._coerce(at, tz)

    @staticmethod
    def _coerce(at: datetime | date | str, tz: timezone) -> datetime:
        if isinstance(at, str):
            at = datetime.fromisoformat(at) if "T" in at or " " in at else date.fromisoformat(at)
        if not isinstance(at, datetime):
            at = datetime.combine(at, time(9, 0))
        return at if at.tzinfo is not None else at.replace(tzinfo=tz)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime | date | str) -> None:
        self._at = self._coerce(at, self._at.tzinfo)  # type: ignore[arg-type]

    def advance(self, **delta: float) -> None:
        self._at = self._at + timedelta(**delta)
