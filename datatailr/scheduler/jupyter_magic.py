"""The vendor SDK's extension path: ``%load_ext datatailr.scheduler.jupyter_magic``."""


def load_ipython_extension(ipython):  # pragma: no cover - thin alias, tested via datatailr
    from datatailr.jupyter_ext import load_ipython_extension as load

    load(ipython)
