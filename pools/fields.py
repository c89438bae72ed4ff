"""Marshmallow fields for the domain's value types, shared by the API and the file import."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import ValidationError, fields

from core.config import zone
from core.vocab import SERVICE_LABELS_ZH
from core.vocab import Service as ServiceCode
from matching.slots import parse_slot, parse_window
from matching.taxonomy import SERVICE_ALIASES, normalise_service


class Service(fields.String):
    """A service code; the Chinese label (公共服务…) is accepted too and stored as the code."""

    def __init__(self, **kwargs: Any) -> None:
        # The API document lists what is accepted, so a client (or a fuzzer) knows.
        accepted: list[str | None] = list(SERVICE_ALIASES)
        if kwargs.get("allow_none"):
            accepted.append(None)
        kwargs["metadata"] = {"enum": accepted, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> ServiceCode:
        text = super()._deserialize(value, attr, data, **kwargs)
        code = normalise_service(text)
        if code is None:
            allowed = "、".join(f"{c}（{z}）" for c, z in SERVICE_LABELS_ZH.items())
            raise ValidationError(f"未知服务类型 {text}，应为 {allowed}")
        return code


class Slot(fields.String):
    """One weekly slot ``mon-fri 09:00-17:00``, kept as text after checking it parses."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        try:
            parse_slot(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return " ".join(text.lower().split())


class Window(fields.Field):
    """A time window: an ISO 8601 interval ``start/end`` or ``{"start": …, "end": …}``; null or "" is
    flexible. Times without an offset are the subdistrict's wall clock; with one, they are turned into it."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> tuple[datetime, datetime] | None:
        if value is None or value == "":
            return None
        if isinstance(value, dict):
            if set(value) != {"start", "end"}:
                raise ValidationError("时间窗对象应只含 start 和 end")
            value = f"{value['start']}/{value['end']}"
        if not isinstance(value, str):
            raise ValidationError("时间窗应为“开始/结束”字符串")
        try:
            return parse_window(value, zone())
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> dict[str, str] | None:
        if not value:
            return None
        start, end = value
        return {"start": start.isoformat(timespec="minutes"), "end": end.isoformat(timespec="minutes")}


def grid_list_or_all(value: list[str]) -> None:
    if "*" in value and len(value) > 1:
        raise ValidationError("“*”表示全部网格，不能与具体网格编码同时出现")
