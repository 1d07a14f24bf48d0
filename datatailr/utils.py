"""The hosted SDK's ``datatailr.utils`` names that user code reaches for.

``get_dt_env()`` is the environment this process runs in ($DATATAILR_JOB_ENVIRONMENT, else
dev); ``is_dt_installed()`` says whether the hosted platform's native ``dt`` is installed
(never on a local platform, whose ``dt`` is this package's).
"""

from __future__ import annotations

import shutil

from datatailr.core.environment import Environment, resolve_environment

__all__ = ["Environment", "get_dt_env", "is_dt_installed"]

_HOSTED_DT = "/opt/datatailr/bin/dt"


def get_dt_env() -> Environment:
    return resolve_environment(None)


def is_dt_installed() -> bool:
    """True only when the hosted platform's own ``dt`` binary is the one on PATH."""
    return shutil.which("dt") == _HOSTED_DT
