"""``datatailr.build``: the hosted SDK's container image description (``Image``)."""

from datatailr.build.image import Image

__all__ = ["Image"]
