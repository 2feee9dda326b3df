"""How long each record is kept (contract §6, §6b, §7): one table, its defaults, and the
workspace setting (config.json) that overrides each. Prefectures keep provision records and the
operation log 7 years, cities 5; a kept re-issue copy lives 30 days unless received earlier."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

# config.json key → (attribute, default, what it keeps)
SETTINGS = {
    "oplog_retention_years": ("oplog_years", 7, "操作履歴（年）"),
    "provision_retention_years": ("provision_years", 7, "提供状況記録（年）"),
    "reissue_retention_days": ("reissue_days", 30, "再発行用保管コピー（日）"),
}


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier (29 February → 28 February): where a period of
    `years` that ends on `day` begins."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class Retention:
    oplog_years: int = SETTINGS["oplog_retention_years"][1]
    provision_years: int = SETTINGS["provision_retention_years"][1]
    reissue_days: int = SETTINGS["reissue_retention_days"][1]

    @classmethod
    def from_config(cls, config: dict) -> "Retention":
        """The periods in force: each config key that is set, else its default."""
        return cls(**{attr: int(config[key]) for key, (attr, _, _) in SETTINGS.items() if key in config})

    def config(self) -> dict[str, int]:
        """These periods as config.json keys (a new workspace writes the defaults)."""
        by_attr = {attr: key for key, (attr, _, _) in SETTINGS.items()}
        return {by_attr[f.name]: getattr(self, f.name) for f in fields(self)}
