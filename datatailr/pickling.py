"""Moved to ``datatailr.image.pickling``; this name stays for the modules that import it."""

from datatailr.image.pickling import _installed_prefixes, dumps_by_value, is_users_module  # noqa: F401
