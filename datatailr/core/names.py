"""Display names and slugs of workflows."""

from __future__ import annotations

import re
import unicodedata

_NON_SLUG = re.compile(r"[^0-9a-z]+")


def slugify(name: str) -> str:
    """NFKC, lower case, every run of other characters than [0-9a-z] as one dash, dashes stripped."""
    text = unicodedata.normalize("NFKC", name).lower()
    return _NON_SLUG.sub("-", text).strip("-")


def display_name_from_function(function_name: str) -> str:
    """``daily_sales_report`` -> ``Daily Sales Report``."""
    return function_name.replace("_", " ").strip().title()
