"""Slugs: transliterated, one per identity, bounded."""

from __future__ import annotations

import pytest

from datatailr.core.names import MAX_SLUG_LENGTH, display_name_from_function, slugify
from datatailr.errors import InvalidArgumentError


@pytest.mark.parametrize(("name", "slug"), [
    ("Complex Pipeline", "complex-pipeline"),
    ("daily_sales_report", "daily-sales-report"),
    ("Café", "cafe"),
    ("Ünïcödé ß", "unicode-ss"),
    ("Report 2024", "report-2024"),
    ("report/2024", "report-2024"),
    ("  --a--  ", "a"),
    ("ｆｕｌｌｗｉｄｔｈ", "fullwidth"),  # NFKC first
])
def test_slugs_transliterate_and_fold_other_characters_to_dashes(name, slug):
    assert slugify(name) == slug


def test_a_name_whose_slug_is_too_long_is_refused_naming_the_limit():
    assert len(slugify("a" * MAX_SLUG_LENGTH)) == MAX_SLUG_LENGTH
    with pytest.raises(InvalidArgumentError, match=rf"the limit is {MAX_SLUG_LENGTH}"):
        slugify("a" * (MAX_SLUG_LENGTH + 1))


def test_display_names_from_function_names():
    assert display_name_from_function("daily_sales_report") == "Daily Sales Report"
