"""The vendor's licence export: good rows become Licences, every bad row is reported by line."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from bot.customers.licence_csv import (
    RowError,
    decode_export,
    guess_separator,
    parse_expires_at,
    parse_licence_csv,
)
from bot.domain import Licence


def parse(text: str) -> tuple[list[Licence], list[RowError]]:
    return parse_licence_csv(io.StringIO(text))


def test_a_good_file() -> None:
    licences, errors = parse(
        "key,email,product,expires_at\n"
        "K-1, Alice@Example.COM ,seo-suite,2026-12-31\n"
        "K-2,bob@example.com,  pdf-invoice ,2027-01-15T10:30:00+02:00\n"
    )

    assert errors == []
    assert licences == [
        Licence("K-1", "alice@example.com", "seo-suite", datetime(2027, 1, 1, tzinfo=UTC)),
        Licence("K-2", "bob@example.com", "pdf-invoice", datetime(2027, 1, 15, 8, 30, tzinfo=UTC)),
    ]


def test_columns_in_any_order_with_extra_columns_and_a_bom() -> None:
    licences, errors = parse(
        "\ufeffProduct,order_id,Expires_At,Email,Key\nseo-suite,991,2026-06-30,a@b.io,  K-9  \n"
    )

    assert errors == []
    assert licences == [Licence("K-9", "a@b.io", "seo-suite", datetime(2026, 7, 1, tzinfo=UTC))]


def test_a_bad_file_reports_each_row_with_its_line() -> None:
    licences, errors = parse(
        "key,email,product,expires_at\n"
        "K-1,alice@example.com,seo-suite,2026-13-01\n"
        "\n"
        ",not-an-email,,2026-01-01\n"
        "K-3,c@example.com\n"
    )

    assert licences == []
    assert [str(error) for error in errors] == [
        "line 2: expires_at '2026-13-01' is not a date: write YYYY-MM-DD (valid through that day, UTC) or an ISO datetime such as 2026-12-31T18:00:00+01:00",
        "line 4: key is empty; email 'not-an-email' is not an e-mail address; product is empty",
        "line 5: missing product; missing expires_at",
    ]


def test_a_mixed_file_keeps_the_good_rows() -> None:
    licences, errors = parse(
        "key,email,product,expires_at\n"
        "K-1,a@example.com,seo-suite,2026-12-31\n"
        "K-2,b@example.com,seo-suite,tomorrow\n"
        "K-3,c@example.com,seo-suite,2026-12-31 23:00\n"
    )

    assert [licence.key for licence in licences] == ["K-1", "K-3"]
    assert errors == [RowError(3, "expires_at 'tomorrow' is not a date: write YYYY-MM-DD (valid through that day, UTC) or an ISO datetime such as 2026-12-31T18:00:00+01:00")]


def test_a_duplicate_key_is_reported_and_only_its_first_row_kept() -> None:
    licences, errors = parse(
        "key,email,product,expires_at\nK-1,a@example.com,seo-suite,2026-01-31\nK-1,a@example.com,seo-suite,2027-01-31\n"
        " k-1 ,b@example.com,seo-suite,2027-01-31\n"
    )

    assert [str(e) for e in errors] == ["line 3: key K-1 is already on line 2: this row was not imported",
                                        "line 4: key k-1 is already on line 2: this row was not imported"]
    assert [(licence.key, licence.expires_at) for licence in licences] == [
        ("K-1", datetime(2026, 2, 1, tzinfo=UTC))
    ]


def test_a_product_not_in_the_policy_is_reported_per_line() -> None:
    licences, errors = parse_licence_csv(io.StringIO(
        "key,email,product,expires_at\nK-1,a@example.com,seo_suite,2027-01-31\nK-2,a@example.com,seo-suite,2027-01-31\n"
    ), known_products={"seo-suite", "one-step-checkout"})

    assert [licence.key for licence in licences] == ["K-2"]
    assert [str(e) for e in errors] == [
        "line 2: product 'seo_suite' is not in the policy (its products: one-step-checkout, seo-suite)"]


def test_excel_exports_windows_1252_utf16_and_semicolons() -> None:
    rows = "key;email;product;expires_at\r\nK-1;zoé@example.com;seo-suite;2027-01-31\r\n"
    for data, encoding in ((rows.encode("cp1252"), "Windows-1252"), (rows.encode("utf-16"), "UTF-16"),
                           ("\ufeff".encode() + rows.encode(), "UTF-8")):
        text, used = decode_export(data)
        assert used == encoding
        separator = guess_separator(text)
        assert separator == ";"
        licences, errors = parse_licence_csv(text.splitlines(), delimiter=separator)
        assert errors == [] and [licence.email for licence in licences] == ["zoé@example.com"]
    assert guess_separator("key\temail\tproduct\texpires_at\n") == "\t"
    assert guess_separator("no header at all\n") == ","


def test_a_quoted_multiline_cell_does_not_shift_later_line_numbers() -> None:
    _licences, errors = parse(
        'key,email,product,expires_at,note\nK-1,a@example.com,seo-suite,2026-01-31,"two\nlines"\nK-2,bad,seo-suite,2026-01-31\n'
    )

    assert [error.line for error in errors] == [4]


def test_a_missing_header_column_is_one_error() -> None:
    licences, errors = parse("key,email,expires\nK-1,a@example.com,2026-01-01\n")

    assert licences == []
    assert errors == [
        RowError(1, "header: missing column(s) product, expires_at (expected key,email,product,expires_at)")
    ]


def test_an_empty_file_is_an_error() -> None:
    assert parse("") == (
        [],
        [RowError(1, "the file is empty: a header key,email,product,expires_at is required")],
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A date: valid through that whole day, so it expires at the next midnight UTC.
        ("2026-02-28", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-12-31", datetime(2027, 1, 1, tzinfo=UTC)),
        # A datetime without offset is UTC.
        ("2026-02-28T12:00:00", datetime(2026, 2, 28, 12, tzinfo=UTC)),
        ("2026-02-28 12:00", datetime(2026, 2, 28, 12, tzinfo=UTC)),
        # With an offset or Z, converted to UTC.
        ("2026-02-28T12:00:00+05:00", datetime(2026, 2, 28, 7, tzinfo=UTC)),
        ("2026-02-28T23:30:00-01:00", datetime(2026, 3, 1, 0, 30, tzinfo=UTC)),
        ("2026-02-28T12:00:00Z", datetime(2026, 2, 28, 12, tzinfo=UTC)),
    ],
)
def test_expiry_dates_datetimes_and_offsets(text: str, expected: datetime) -> None:
    result = parse_expires_at(text)

    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize("text", ["2026-02-30", "31/12/2026", "", "2026-12-31T25:00"])
def test_expiry_rejects_non_iso_text(text: str) -> None:
    with pytest.raises(ValueError):
        parse_expires_at(text)
