"""Resources a task or workflow asks for (recorded; enforced where an executor can).

A ``memory`` given explicitly is a limit (``memory_limit``): the local executor kills a task
whose processes use more. The default memory, filled in when none is given, is only recorded.
"""

from __future__ import annotations

import dataclasses
import re

from datatailr.errors import InvalidArgumentError

_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?)?\s*$", re.IGNORECASE)
DEFAULT_MEMORY = "128m"


class _DefaultMemory(str):
    """The memory a Resources gets when none is given: equal to the text, never a limit."""


_DEFAULT = _DefaultMemory(DEFAULT_MEMORY)


@dataclasses.dataclass(frozen=True)
class Resources:
    memory: str = _DEFAULT
    cpu: float = 0.25
    vram: str | None = None

    def __post_init__(self) -> None:
        given = self.memory is not None and type(self.memory) is not _DefaultMemory
        object.__setattr__(self, "_memory_given", given)
        if type(self.memory) is _DefaultMemory:
            object.__setattr__(self, "memory", str(self.memory))
        if self.memory is not None and not _MEMORY.match(str(self.memory)):
            raise InvalidArgumentError(
                f"Resources(memory={self.memory!r}) is not a size: write e.g. '512m' or '2g'."
            )
        try:
            cpu = float(self.cpu)
        except (TypeError, ValueError):
            raise InvalidArgumentError(
                f"Resources(cpu={self.cpu!r}) is not a number: write e.g. 0.5 or 2."
            ) from None
        if cpu <= 0:
            raise InvalidArgumentError(f"Resources(cpu={self.cpu!r}) must be above 0.")
        object.__setattr__(self, "cpu", cpu)

    def to_dict(self) -> dict:
        return {"memory": self.memory, "cpu": self.cpu, "vram": self.vram}

    @property
    def memory_given(self) -> bool:
        """Was ``memory`` given (a limit), rather than filled in by default?"""
        return bool(getattr(self, "_memory_given", True))

    @property
    def memory_limit(self) -> int | None:
        """The memory limit in bytes: ``memory`` when it was given explicitly, else None."""
        return self.memory_bytes() if self.memory_given and self.memory is not None else None

    def replace(self, memory=None, cpu=None, vram=None) -> Resources:
        if memory is None:
            memory = self.memory if self.memory_given else _DEFAULT
        return Resources(
            memory=memory,
            cpu=self.cpu if cpu is None else cpu,
            vram=self.vram if vram is None else vram,
        )

    def memory_bytes(self) -> int:
        number, unit = _MEMORY.match(str(self.memory)).groups()  # type: ignore[union-attr]
        scale = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}[(unit or "")[:1].lower()]
        return int(float(number) * scale)
