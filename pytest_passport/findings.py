"""The result type every check returns, shared by the plugin, the CLIs and the API."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Status(str, enum.Enum):
    """Outcome of one check. ``fail`` blocks signing and loading; the others never do."""

    PASS = "pass"
    SOFT_SIGNAL = "soft_signal"
    FAIL = "fail"
    NOT_CHECKED = "not_checked"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Finding:
    """One observation: which check, its status, a one-line message and forensic details."""

    check: str
    status: Status
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def passed(cls, check: str, message: str, **details: Any) -> Finding:
        return cls(check, Status.PASS, message, details)

    @classmethod
    def soft(cls, check: str, message: str, **details: Any) -> Finding:
        return cls(check, Status.SOFT_SIGNAL, message, details)

    @classmethod
    def failed(cls, check: str, message: str, **details: Any) -> Finding:
        return cls(check, Status.FAIL, message, details)

    @classmethod
    def not_checked(cls, check: str, message: str, **details: Any) -> Finding:
        return cls(check, Status.NOT_CHECKED, message, details)

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "status": self.status.value, "message": self.message, "details": self.details}


def verdict_of(findings: list[Finding]) -> str:
    """Reference aggregate: any fail → dont_ship; any soft signal → human_look_here; else ship_it."""
    statuses = {f.status for f in findings}
    if Status.FAIL in statuses:
        return "dont_ship"
    if Status.SOFT_SIGNAL in statuses:
        return "human_look_here"
    return "ship_it"
