"""The hosted SDK's remote-login helpers, for code that talks to a hosted Datatailr over HTTP.

A local platform has no remote instance to log in to: ``is_remote_logged_in()`` is honestly
``False``, and every helper that would return the remote's address or credentials raises
``HostedOnlyError``.
"""

from __future__ import annotations

from typing import Any

from datatailr.errors import hosted_only

__all__ = [
    "construct_remote_base_url",
    "get_remote_base_url",
    "get_remote_http_headers",
    "get_remote_oidc_cookie_line",
    "get_remote_oidc_cookie_pair",
    "get_remote_oidc_jwt",
    "is_remote_logged_in",
    "load_remote_client_config",
]

_HINT = "Locally there is no remote instance: call local services at their 127.0.0.1 URL."


def is_remote_logged_in(validate_server: bool = True, timeout_s: int = 5) -> bool:
    """Never logged in to a hosted instance from the local platform."""
    return False


def load_remote_client_config() -> Any:
    raise hosted_only("load_remote_client_config() (a `datatailr login` session)", _HINT)


def get_remote_oidc_jwt() -> str:
    raise hosted_only("get_remote_oidc_jwt() (a `datatailr login` session)", _HINT)


def get_remote_http_headers() -> dict[str, str]:
    raise hosted_only("get_remote_http_headers() (a `datatailr login` session)", _HINT)


def get_remote_oidc_cookie_line() -> str:
    raise hosted_only("get_remote_oidc_cookie_line() (a `datatailr login` session)", _HINT)


def get_remote_oidc_cookie_pair() -> tuple[str, str]:
    raise hosted_only("get_remote_oidc_cookie_pair() (a `datatailr login` session)", _HINT)


def get_remote_base_url() -> str:
    raise hosted_only("get_remote_base_url() (a `datatailr login` session)", _HINT)


def construct_remote_base_url(service_name: str, environment: str | None = None) -> str:
    raise hosted_only(f"construct_remote_base_url({service_name!r})", _HINT)
