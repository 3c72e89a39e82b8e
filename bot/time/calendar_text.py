"""The business calendar in words, in the reader's language (English and French)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time

WORDS: dict[str, dict[str, tuple[str, ...] | str]] = {
    "en": {
        "days": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        "short_days": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
        "months": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        "and": "and", "range": "{first} to {last}", "every_day": "Every day",
        "holidays": "closed on public holidays ({country})",
    },
    "fr": {
        "days": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
        "short_days": ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."),
        "months": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
                   "déc."),
        "and": "et", "range": "du {first} au {last}", "every_day": "Tous les jours",
        "holidays": "fermé les jours fériés ({country})",
    },
}


def _words(lang: str) -> dict[str, tuple[str, ...] | str]:
    return WORDS.get(lang.split("-")[0].lower(), WORDS["en"])


def format_instant(local: datetime, zone: str, lang: str = "en") -> str:
    w = _words(lang)
    return (f"{w['short_days'][local.weekday()]} {local.day} {w['months'][local.month - 1]} {local.year} "
            f"{local:%H:%M} ({zone})")


def _hhmm(t: time, *, is_end: bool = False) -> str:
    return "24:00" if is_end and t == time(0) else f"{t:%H:%M}"


def _join(texts: Sequence[str], lang: str) -> str:
    return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + f" {_words(lang)['and']} " + texts[-1]


def _intervals(intervals: Sequence[tuple[time, time]], lang: str) -> str:
    return _join([f"{_hhmm(start)}-{_hhmm(end, is_end=True)}" for start, end in intervals], lang)


def _long_run(run: list[int], lang: str) -> str:
    w = _words(lang)
    first, last = w["days"][run[0]], w["days"][run[-1]]
    if len(run) == 1:
        return first
    return f"{first} {w['and']} {last}" if len(run) == 2 else str(w["range"]).format(first=first, last=last)


def _short_run(run: list[int], lang: str) -> str:
    w = _words(lang)
    first, last = w["short_days"][run[0]], w["short_days"][run[-1]]
    return first if len(run) == 1 else f"{first}-{last}"


def describe_week(runs_by_hours: dict[tuple[tuple[time, time], ...], list[list[int]]], zone: str,
                  country: str | None, lang: str = "en") -> str:
    """Days that share their hours, as runs of consecutive days: "Monday to Friday, 09:00-12:00 and …"."""
    w = _words(lang)
    suffix = "; " + str(w["holidays"]).format(country=country) if country else ""
    if len(runs_by_hours) == 1:
        ((intervals, runs),) = runs_by_hours.items()
        days = str(w["every_day"]) if runs == [list(range(7))] else ", ".join(_long_run(r, lang) for r in runs)
        text = f"{days}, {_intervals(intervals, lang)} ({zone}){suffix}"
    else:
        groups = [", ".join(_short_run(r, lang) for r in runs) + " " + _intervals(intervals, lang)
                  for intervals, runs in runs_by_hours.items()]
        text = "; ".join(groups) + f" ({zone}){suffix}"
    return text
