"""``Budget`` and ``Cost``: the hosted platform's spending caps and cost reports.

Locally nothing is billed, so there is no cost to report and no budget to read: the names
exist so that hosted code imports, a ``Budget("team")`` can be named (and recorded by a job
that takes one), and every question that needs the hosted billing service raises one
``HostedOnlyError``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from datatailr.errors import hosted_only

__all__ = ["Budget", "Cost"]


class Cost:
    @staticmethod
    def view(begin: str | date | datetime | None = None,
             end: str | date | datetime | None = None) -> list[dict[str, Any]]:
        raise hosted_only("Cost.view() (the hosted platform's billing)",
                          "Local runs cost nothing to report.")


class Budget:
    """A budget named ``name``; its figures live on the hosted platform only."""

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("Budget name must be non-empty.")
        self._name = name

    def __repr__(self) -> str:
        return f"Budget(name={self._name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Budget) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self._name)

    @property
    def name(self) -> str:
        return self._name

    def _hosted(self, what: str) -> Any:
        raise hosted_only(f"Budget({self._name!r}).{what}")

    @property
    def id(self) -> int | None:
        return self._hosted("id")

    @property
    def budget_usd(self) -> float | None:
        return self._hosted("budget_usd")

    @property
    def usage_usd(self) -> float | None:
        return self._hosted("usage_usd")

    @property
    def usage_percentage(self) -> float | None:
        return self._hosted("usage_percentage")

    @property
    def prevent_overflow(self) -> bool | None:
        return self._hosted("prevent_overflow")

    @property
    def acl(self) -> Any:
        return self._hosted("acl")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Budget:
        return cls(data["name"])

    @staticmethod
    def ls() -> list[Budget]:
        raise hosted_only("Budget.ls()")

    @staticmethod
    def get(name: str) -> Budget:
        raise hosted_only(f"Budget.get({name!r})")

    @staticmethod
    def add(name: str, *args: Any, **kwargs: Any) -> Budget:
        raise hosted_only(f"Budget.add({name!r})")

    @staticmethod
    def update(name: str, *args: Any, **kwargs: Any) -> Budget:
        raise hosted_only(f"Budget.update({name!r})")

    @staticmethod
    def remove(name: str) -> None:
        raise hosted_only(f"Budget.remove({name!r})")

    @staticmethod
    def get_acl(name: str) -> Any:
        raise hosted_only(f"Budget.get_acl({name!r})")

    @staticmethod
    def set_acl(name: str, acl: Any) -> None:
        raise hosted_only(f"Budget.set_acl({name!r})")

    @staticmethod
    def add_acl(name: str, acl: Any) -> None:
        raise hosted_only(f"Budget.add_acl({name!r})")

    @staticmethod
    def remove_acl(name: str, acl: Any) -> None:
        raise hosted_only(f"Budget.remove_acl({name!r})")
