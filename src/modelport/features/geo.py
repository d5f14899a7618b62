"""Great-circle distance from each row to the nearest of a set of reference points.

"How far is the applicant from the nearest branch" is a common feature; the haversine
formula on a spherical Earth is accurate to about 0.5 %, which is plenty for a model
input, and it is expressible exactly with ONNX operators (Sin, Cos, Asin, Sqrt,
ReduceMin), so the distance can live inside the packaged graph.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelport.features._arrays import as_float

__all__ = ["DEGREES", "EARTH_RADIUS_KM", "check_references", "haversine_km"]

EARTH_RADIUS_KM = 6371.0088  # the IUGG mean Earth radius
DEGREES = np.pi / 180.0


def check_references(ref_lats: Any, ref_lons: Any) -> tuple[np.ndarray, np.ndarray]:
    """Reference coordinates as float64 degrees; at least one, all finite, latitudes valid."""
    lats = np.asarray(ref_lats, dtype=np.float64).reshape(-1)
    lons = np.asarray(ref_lons, dtype=np.float64).reshape(-1)
    if lats.size == 0 or lats.shape != lons.shape:
        raise ValueError("reference points need as many latitudes as longitudes, at least one")
    if not (np.all(np.isfinite(lats)) and np.all(np.isfinite(lons))):
        raise ValueError("reference points must have finite coordinates")
    if np.any(np.abs(lats) > 90.0):
        raise ValueError("reference latitudes must lie within [-90, 90] degrees")
    return lats, lons


def haversine_km(lat: Any, lon: Any, ref_lats: Any, ref_lons: Any) -> np.ndarray:
    """Kilometres from each ``(lat, lon)`` (degrees) to the nearest reference point.

    ``NaN`` where the latitude or longitude is missing, non-finite, or the latitude lies
    outside ``[-90, 90]``. Longitudes need no range: the formula is periodic in them.
    Rounding can push the haversine term of two antipodal points a hair above 1; it is
    capped at 1 so the distance is half the circumference, never ``NaN``.
    """
    lats, lons = check_references(ref_lats, ref_lons)
    phi = as_float(lat).reshape(-1, 1)
    lam = as_float(lon).reshape(-1, 1)
    ref_phi = lats * DEGREES
    ref_lam = lons * DEGREES
    ref_cos = np.cos(ref_phi)
    with np.errstate(invalid="ignore"):
        rad_phi = phi * DEGREES
        rad_lam = lam * DEGREES
        half_dphi = np.sin((ref_phi - rad_phi) * 0.5)
        half_dlam = np.sin((ref_lam - rad_lam) * 0.5)
        term = half_dphi * half_dphi + (np.cos(rad_phi) * ref_cos) * (half_dlam * half_dlam)
        term = np.minimum(term, 1.0)
        # asin(sqrt(term)), taken through the complement above 45 degrees, where asin is
        # badly conditioned: the graph computes it the same way (see the converter).
        sine, cosine = np.sqrt(term), np.sqrt(1.0 - term)
        low = sine <= cosine
        half_angle = np.where(low, np.arcsin(sine), (np.pi / 2) - np.arcsin(cosine))
        distance = (2.0 * EARTH_RADIUS_KM) * half_angle
        nearest = distance.min(axis=1)
        valid = (np.abs(phi[:, 0]) <= 90.0) & np.isfinite(lam[:, 0])
    return np.where(valid, nearest, np.nan)
