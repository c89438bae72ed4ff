"""Grid boundaries: GeoJSON Polygon and MultiPolygon geometries in lng/lat (WGS84, RFC 7946).

Pure functions, no database: the input schema and the file import check a boundary here, and the
reason they give is in Chinese, fit to show next to the field or in an import report.

``boundary_geometry(value) -> dict``
    A checked, normalised geometry ``{"type", "coordinates"}``: positions as ``[lng, lat]`` floats
    (an altitude is dropped), foreign members (``bbox``, ``crs``…) left out. A GeoJSON Feature is
    read as its geometry. Raises :class:`BoundaryError` with the first reason found.
``boundary_from_text(text) -> dict | None``
    The same from an import cell holding the geometry's JSON text; an empty cell is ``None``.
``ring_area(ring) -> float``
    The signed area of a ring by the shoelace formula, in squared degrees (positive when
    counter-clockwise, as RFC 7946 draws exterior rings).
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

BOUNDARY_TYPES = ("Polygon", "MultiPolygon")
# Enough for a grid drawn by hand or simplified from a survey, and small enough that a compact
# JSON text of it fits a CSV cell (Python's csv reads at most 131,072 characters a field).
MAX_BOUNDARY_POSITIONS = 4000
MIN_RING_POSITIONS = 4  # a triangle and its closing position
LNG_RANGE = (-180.0, 180.0)
LAT_RANGE = (-90.0, 90.0)


class BoundaryError(ValueError):
    """A boundary that is not a valid Polygon or MultiPolygon; ``str()`` is the reason in Chinese."""


def boundary_from_text(text: str) -> dict[str, Any] | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        reason = getattr(exc, "msg", str(exc))
        raise BoundaryError(f"边界不是有效的 JSON 文本（{reason}），应为 GeoJSON 几何对象") from None
    return boundary_geometry(value)


def boundary_geometry(value: Any) -> dict[str, Any]:
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    if not isinstance(value, dict):
        raise BoundaryError("边界应为 GeoJSON 几何对象，如 {\"type\": \"Polygon\", \"coordinates\": [...]}")
    kind = value.get("type")
    if kind not in BOUNDARY_TYPES:
        shown = kind if isinstance(kind, str) else json.dumps(kind, ensure_ascii=False)
        raise BoundaryError(f"边界类型应为 Polygon 或 MultiPolygon，而不是 {shown[:30]}")
    if "coordinates" not in value:
        raise BoundaryError("边界缺少 coordinates（坐标）")
    counter = [0]
    coordinates = value["coordinates"]
    if kind == "Polygon":
        rings = _polygon(coordinates, "", counter)
        return {"type": kind, "coordinates": rings}
    if not isinstance(coordinates, list) or not coordinates:
        raise BoundaryError("MultiPolygon 的坐标应为至少含一个面的数组")
    polygons = [_polygon(p, f"第 {i} 个面的", counter) for i, p in enumerate(coordinates, 1)]
    return {"type": kind, "coordinates": polygons}


def _polygon(value: Any, where: str, counter: list[int]) -> list[list[list[float]]]:
    if not isinstance(value, list) or not value:
        raise BoundaryError(f"{where or '多边形的'}坐标应为至少含一个环（外环）的数组")
    return [_ring(ring, f"{where}第 {i} 个环", counter) for i, ring in enumerate(value, 1)]


def _ring(value: Any, where: str, counter: list[int]) -> list[list[float]]:
    if not isinstance(value, list):
        raise BoundaryError(f"{where}应为坐标数组")
    counter[0] += len(value)
    if counter[0] > MAX_BOUNDARY_POSITIONS:
        raise BoundaryError(f"边界的坐标超过 {MAX_BOUNDARY_POSITIONS} 个，请先简化边界")
    if len(value) < MIN_RING_POSITIONS:
        raise BoundaryError(f"{where}只有 {len(value)} 个坐标，至少需要 {MIN_RING_POSITIONS} 个（首尾相同）")
    ring = [_position(p, f"{where}第 {i} 个坐标") for i, p in enumerate(value, 1)]
    if ring[0] != ring[-1]:
        raise BoundaryError(f"{where}未闭合：最后一个坐标应与第一个相同")
    if len({tuple(p) for p in ring}) < 3:
        raise BoundaryError(f"{where}至少需要 3 个不同的顶点")
    return ring


def _position(value: Any, where: str) -> list[float]:
    if not isinstance(value, list) or len(value) not in (2, 3):
        raise BoundaryError(f"{where}应为 [经度, 纬度]")
    # A huge JSON integer is a Python int that float() cannot take: compare before converting.
    if not all(isinstance(n, int | float) and not isinstance(n, bool) and not (isinstance(n, float) and
               not math.isfinite(n)) for n in value):
        raise BoundaryError(f"{where}应为数字 [经度, 纬度]")
    lng, lat = value[0], value[1]
    if not LNG_RANGE[0] <= lng <= LNG_RANGE[1]:
        raise BoundaryError(f"{where}的经度 {_shown(lng)} 超出 -180 至 180")
    if not LAT_RANGE[0] <= lat <= LAT_RANGE[1]:
        raise BoundaryError(f"{where}的纬度 {_shown(lat)} 超出 -90 至 90（是否把经纬度写反了？）")
    return [float(lng), float(lat)]


def _shown(number: float) -> str:
    text = repr(number)
    return text if len(text) <= 20 else text[:17] + "…"


def ring_area(ring: Sequence[Sequence[float]]) -> float:
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:])) / 2


def _in_ring(ring: Sequence[Sequence[float]], lng: float, lat: float) -> bool:
    """Ray casting: whether the point is inside the closed ring (a point on an edge may go either way)."""
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        if (y1 > lat) != (y2 > lat) and lng < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def contains(geometry: dict[str, Any], lng: float, lat: float) -> bool:
    """Whether a Polygon or MultiPolygon (checked by :func:`boundary_geometry`) holds the point: inside an
    outer ring and outside its holes."""
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return any(_in_ring(rings[0], lng, lat) and not any(_in_ring(hole, lng, lat) for hole in rings[1:])
               for rings in polygons)


EARTH_RADIUS_M = 6_371_000.0


def distance_m(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


__all__ = ["BOUNDARY_TYPES", "MAX_BOUNDARY_POSITIONS", "BoundaryError", "boundary_from_text", "boundary_geometry",
           "contains", "distance_m", "ring_area"]
