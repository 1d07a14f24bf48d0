"""Display names and slugs of workflows (pure: no disk, no database).

A workflow is identified by its slug within an environment; the slug names its folders in
storage and is what ``dt`` and URLs use. Two different display names that make one slug would
be one workflow, so the store refuses the second (see ``MetadataStore.ensure_workflow``).
"""

from __future__ import annotations

import unicodedata

from slugify import slugify as _slugify

from datatailr.errors import InvalidArgumentError

#: The longest slug a workflow may have (it names folders and files in storage).
MAX_SLUG_LENGTH = 120


def slugify(name: str) -> str:
    """NFKC, non-ASCII letters transliterated (``Café`` -> ``cafe``), lower case, every run of
    other characters than [0-9a-z] as one dash, dashes stripped.

    A name whose slug would pass ``MAX_SLUG_LENGTH`` characters is an ``InvalidArgumentError``.
    """
    text = unicodedata.normalize("NFKC", name)
    slug = _slugify(text, lowercase=True, regex_pattern=r"[^0-9a-z]+", separator="-")
    if len(slug) > MAX_SLUG_LENGTH:
        raise InvalidArgumentError(
            f"The name {name[:40]!r}... makes a slug of {len(slug)} characters; the limit is "
            f"{MAX_SLUG_LENGTH}: give a shorter name."
        )
    return slug


def display_name_from_function(function_name: str) -> str:
    """``daily_sales_report`` -> ``Daily Sales Report``."""
    return function_name.replace("_", " ").strip().title()
