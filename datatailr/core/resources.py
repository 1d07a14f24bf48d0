"""Resources a task or workflow asks for (recorded; enforced where an executor can)."""

from __future__ import annotations

import dataclasses
import re

from datatailr.errors import InvalidArgumentError

_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?)?\s*$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Resources:
    memory: str = "128m"
    cpu: float = 0.25
    vram: str | None = None

    def __post_init__(self) -> None:
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

    def replace(self, memory=None, cpu=None, vram=None) -> Resources:
        return Resources(
            memory=self.memory if memory is None else memory,
            cpu=self.cpu if cpu is None else cpu,
            vram=self.vram if vram is None else vram,
        )

    def memory_bytes(self) -> int:
        number, unit = _MEMORY.match(str(self.memory)).groups()  # type: ignore[union-attr]
        scale = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}[(unit or "")[:1].lower()]
        return int(float(number) * scale)
