"""Load the vendor's support policy from TOML, reporting every mistake with its key."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import date, time, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
)

from bot.policy import ManualPage, Policy, Product, SlaPolicy
from bot.time.calendar import BusinessCalendar
from supportbot import policy_memory as memory
from supportbot import policy_values as values

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The vendor's published hours, used when the file gives none.
DEFAULT_HOURS: dict[int, list[tuple[time, time]]] = {
    weekday: [(time(9), time(12)), (time(14), time(18))] for weekday in range(5)
}
DEFAULT_TIMEZONE: tzinfo = timezone(timedelta(hours=1))
_DEFAULT_SLA = SlaPolicy()


class PolicyError(Exception):
    """An unusable policy file; str() lists every problem, one `key: reason` per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# -- the file's shape ---------------------------------------------------------------------


def _v(parse: Callable[[object], Any]) -> PlainValidator:
    """A field read by one of supportbot.policy_values' parsers."""
    return PlainValidator(parse)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, arbitrary_types_allowed=True)


_Day = Annotated[list[Annotated[tuple[time, time], _v(values.hours_interval)]], AfterValidator(values.in_order)]


class _Hours(_Section):
    mon: _Day = []
    tue: _Day = []
    wed: _Day = []
    thu: _Day = []
    fri: _Day = []
    sat: _Day = []
    sun: _Day = []


class _Calendar(_Section):
    timezone: Annotated[tzinfo, _v(values.time_zone)] = DEFAULT_TIMEZONE
    hours: _Hours = Field(default_factory=_Hours)  # absent: DEFAULT_HOURS (see model_fields_set)
    holidays: list[Annotated[date, _v(values.holiday)]] = []
    country: Annotated[str | None, _v(values.country)] = None


class _Sla(_Section):
    response: Annotated[timedelta, _v(values.duration)] = _DEFAULT_SLA.response
    warn_before: Annotated[timedelta, _v(values.duration)] = _DEFAULT_SLA.warn_before
    nudge_after: Annotated[timedelta, _v(values.duration)] = _DEFAULT_SLA.nudge_after
    auto_close_after: Annotated[timedelta, _v(values.duration)] = _DEFAULT_SLA.auto_close_after
    auto_close_warning: Annotated[timedelta, _v(values.duration)] = _DEFAULT_SLA.auto_close_warning


class _Limits(_Section):
    open_tickets_per_customer: Annotated[int, _v(values.positive_int)] = 5
    link_attempts_per_hour: Annotated[int, _v(values.positive_int)] = 5


class _Desk(_Section):
    note_prefix: Annotated[str, _v(values.non_empty_text)] = "note:"
    on_licence_expiry: Literal["close", "warn"] = "close"
    renew_url: Annotated[str, _v(values.url_or_empty)] = ""
    leads: list[Annotated[str, _v(values.non_empty_text)]] = []
    dm_on_answer: bool = False
    email_on_answer: bool = True
    staff_scope: Literal["product", "desk"] = "product"
    subject_similarity: int = Field(default=85, ge=0, le=100)
    snippet_prefix: Annotated[str, _v(values.non_empty_text)] = "!"


class _Report(_Section):
    channel: Annotated[str, _v(values.non_empty_text)]
    weekday: memory.Weekday = 0
    time: memory.ClockTime = time(9)


class _Satisfaction(_Section):
    enabled: bool = True
    window: Annotated[timedelta, _v(values.duration)] = timedelta(days=7)


class _Snippet(_Section):
    name: memory.SnippetName
    text: Annotated[str, _v(values.non_empty_text)]


class _Retention(_Section):
    messages_after: Annotated[timedelta | None, _v(values.duration)] = None


class _Manual(_Section):
    title: Annotated[str, _v(values.non_empty_text)]
    url: Annotated[str, _v(values.http_url)]
    keywords: list[Annotated[str, _v(values.non_empty_text)]] = []


class _Product(_Section):
    sku: Annotated[str, _v(values.non_empty_text)]
    name: Annotated[str, _v(values.non_empty_text)]
    staff_channel: Annotated[str, _v(values.non_empty_text)]
    manual: list[_Manual] = []


_SECTIONS: dict[str, Any] = {
    "calendar": _Calendar,
    "sla": _Sla,
    "limits": _Limits,
    "desk": _Desk,
    "retention": _Retention,
    "product": list[dict[str, Any]],  # each table is validated alone, see _products
    "report": _Report | None,
    "snippet": list[_Snippet],
    "satisfaction": _Satisfaction,
}

_MESSAGES = {
    "missing": "missing",
    "extra_forbidden": "unknown key",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "model_type": "must be a table",
    "dict_type": "must be a table",
    "model_attributes_type": "must be a table",
}


_BOUNDS = {
    "greater_than": "more than",
    "greater_than_equal": "at least",
    "less_than": "less than",
    "less_than_equal": "at most",
}


def _path(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _problems(section: str, error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors(include_url=False):
        loc = item["loc"]
        path = _path((section, *loc))
        kind = item["type"]
        if kind == "value_error":
            reason = str(item["ctx"]["error"])
        elif kind == "extra_forbidden":
            reason = "unknown key" + (f" (use {', '.join(DAYS)})" if loc[-2:-1] == ("hours",) else "")
        elif kind in _MESSAGES:
            reason = _MESSAGES[kind] + ("" if kind == "missing" else f", not {values.shown(item['input'])}")
        elif kind == "literal_error":
            reason = f"must be {item['ctx']['expected']}, not {values.shown(item['input'])}"
        elif kind in _BOUNDS:
            bound = next(iter(item.get("ctx", {}).values()), "?")
            reason = f"must be {_BOUNDS[kind]} {bound}, not {values.shown(item['input'])}"
        else:
            reason = item["msg"]
        if section == "product" and kind == "list_type" and not loc:
            reason = "must be [[product]] tables"
        lines.append(f"{path}: {reason}")
    return lines


def load_policy(path: str | Path | None) -> Policy:
    """The policy in the TOML file at `path`; None gives the default policy (no products)."""
    if path is None:
        return Policy(calendar=BusinessCalendar.default(), products={})
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError([f"{path}: cannot read the policy file ({exc.strerror or exc})"]) from None
    except UnicodeDecodeError:
        raise PolicyError([f"{path}: not a UTF-8 text file"]) from None
    except tomllib.TOMLDecodeError as exc:  # its text carries "(at line N, column M)"
        raise PolicyError([f"{path}: TOML syntax error: {exc}"]) from None
    return _policy_from(data)


def _policy_from(data: dict[str, Any]) -> Policy:
    problems = [
        f"{key}: unknown key (expected one of {', '.join(_SECTIONS)})" for key in data if key not in _SECTIONS
    ]
    parsed: dict[str, Any] = {}
    for name, shape in _SECTIONS.items():
        try:
            default: Any = [] if name in ("product", "snippet") else None if name == "report" else {}
            parsed[name] = TypeAdapter(shape).validate_python(data.get(name, default))
        except ValidationError as exc:
            problems.extend(_problems(name, exc))
    calendar = _build_calendar(parsed.get("calendar"), problems)
    sla = parsed.get("sla")
    if sla is not None:
        if sla.warn_before >= sla.response:
            problems.append("sla.warn_before: must be shorter than sla.response")
        if sla.auto_close_warning >= sla.auto_close_after:
            problems.append("sla.auto_close_warning: must be shorter than sla.auto_close_after")
    products = _products(parsed.get("product", []), problems)
    snippets = memory.snippets(parsed.get("snippet", []), problems)
    if problems or calendar is None or sla is None or "limits" not in parsed or "desk" not in parsed:
        raise PolicyError(problems)
    limits, desk = parsed["limits"], parsed["desk"]
    return Policy(
        calendar=calendar,
        products=products,
        sla=SlaPolicy(
            sla.response, sla.warn_before, sla.nudge_after, sla.auto_close_after, sla.auto_close_warning
        ),
        open_tickets_per_customer=limits.open_tickets_per_customer,
        link_attempts_per_hour=limits.link_attempts_per_hour,
        subject_similarity=desk.subject_similarity,
        note_prefix=desk.note_prefix,
        on_licence_expiry=desk.on_licence_expiry,
        renew_url=desk.renew_url,
        leads=tuple(desk.leads),
        dm_on_answer=desk.dm_on_answer,
        email_on_answer=desk.email_on_answer,
        weekly_report=memory.weekly(parsed.get("report")),
        snippets=snippets,
        snippet_prefix=desk.snippet_prefix,
        rating_window=memory.rating_window(parsed.get("satisfaction")),
        staff_scope=desk.staff_scope,
        retention_messages_after=parsed["retention"].messages_after if "retention" in parsed else None,
    )


def _products(tables: list[dict[str, Any]], problems: list[str]) -> dict[str, Product]:
    """Products by sku; each table is validated on its own so that every broken one is
    reported and skus are compared across the good ones."""
    products: dict[str, Product] = {}
    for index, table in enumerate(tables):
        try:
            item = _Product.model_validate(table)
        except ValidationError as exc:
            problems.extend(_problems(f"product[{index}]", exc))
            continue
        if item.sku in products:
            problems.append(f"product[{index}].sku: {item.sku!r} is already used by another product")
            continue
        manual = tuple(ManualPage(page.title, page.url, tuple(page.keywords)) for page in item.manual)
        products[item.sku] = Product(item.sku, item.name, item.staff_channel, manual)
    return products


def _build_calendar(section: _Calendar | None, problems: list[str]) -> BusinessCalendar | None:
    if section is None:
        return None
    given = "hours" in section.model_fields_set
    hours = DEFAULT_HOURS
    if given:
        hours = {weekday: getattr(section.hours, day) for weekday, day in enumerate(DAYS)}
    try:
        return BusinessCalendar(section.timezone, hours, section.holidays, section.country)
    except ValueError as exc:
        key = "calendar.hours" if given else "calendar"
        problems.append(f"{key}: {exc}")
        return None
