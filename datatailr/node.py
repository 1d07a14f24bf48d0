"""``Node``: a compute machine of the hosted platform's cluster.

The local platform runs on this machine (or on the Dask cluster it is pointed at), which it
does not manage as nodes: the name exists so that hosted code imports and can name a node,
and every operation on nodes raises one ``HostedOnlyError``.
"""

from __future__ import annotations

from typing import Any

from datatailr.errors import hosted_only

__all__ = ["Node"]

_HINT = "Local runs use this machine, or the Dask cluster in DATATAILR_EXECUTOR."


class Node:
    def __init__(self, name_or_id: str) -> None:
        if not isinstance(name_or_id, str) or not name_or_id.strip():
            raise ValueError("Node name or id must be non-empty.")
        self._name_or_id = name_or_id

    def __repr__(self) -> str:
        return f"Node({self._name_or_id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Node) and other._name_or_id == self._name_or_id

    def __hash__(self) -> int:
        return hash(self._name_or_id)

    @property
    def name(self) -> str:
        return self._name_or_id

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        raise hosted_only(f"Node({self._name_or_id!r}).{attribute}", _HINT)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Node:
        return cls(str(data.get("name") or data.get("id") or ""))

    @staticmethod
    def ls(*args: Any, **kwargs: Any) -> list[Node]:
        raise hosted_only("Node.ls()", _HINT)

    @staticmethod
    def get(name_or_id: str) -> Node:
        raise hosted_only(f"Node.get({name_or_id!r})", _HINT)

    @staticmethod
    def exists(name_or_id: str) -> bool:
        raise hosted_only(f"Node.exists({name_or_id!r})", _HINT)

    @staticmethod
    def new(*args: Any, **kwargs: Any) -> Any:
        raise hosted_only("Node.new()", _HINT)

    @staticmethod
    def start(*nodes: Any) -> None:
        raise hosted_only("Node.start()", _HINT)

    @staticmethod
    def stop(*nodes: Any) -> None:
        raise hosted_only("Node.stop()", _HINT)

    @staticmethod
    def restart(*nodes: Any) -> None:
        raise hosted_only("Node.restart()", _HINT)

    @staticmethod
    def terminate(*nodes: Any) -> None:
        raise hosted_only("Node.terminate()", _HINT)

    @staticmethod
    def change_type(instance_type: str, *nodes: Any) -> None:
        raise hosted_only("Node.change_type()", _HINT)

    @staticmethod
    def instance_types() -> list[dict[str, Any]]:
        raise hosted_only("Node.instance_types()", _HINT)

    @staticmethod
    def instance_types_by_class() -> dict[str, Any]:
        raise hosted_only("Node.instance_types_by_class()", _HINT)

    @staticmethod
    def instance_types_by_family() -> dict[str, Any]:
        raise hosted_only("Node.instance_types_by_family()", _HINT)
