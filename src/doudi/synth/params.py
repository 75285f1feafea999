"""Load the generator's documented distribution parameters (params.yaml), merged for one region."""

from __future__ import annotations

import copy
from datetime import date
from functools import lru_cache
from importlib.resources import files
from typing import Any

import numpy as np
import yaml

META_KEYS = {"source", "provisional"}
REGIONS = ("370784", "440700")


@lru_cache
def raw_params() -> dict[str, Any]:
    """The parameter file as written (with its sources and provisional flags)."""
    text = files("doudi.synth").joinpath("params.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def region_params(region: str) -> dict[str, Any]:
    """Defaults overridden by the region's own figures; raises ValueError for an unknown region."""
    data = raw_params()
    if region not in data["regions"]:
        raise ValueError(f"不支持的区划 {region}；可选: {', '.join(sorted(data['regions']))}")
    merged = _merge(data["defaults"], data["regions"][region])
    merged["code"] = region
    return merged


def reference_date() -> date:
    """The default snapshot date of the synthetic registry."""
    value = raw_params()["reference_date"]
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def shares(block: dict[Any, Any]) -> tuple[list[str], np.ndarray]:
    """Keys and normalised probabilities of a {key: share} mapping (meta keys ignored)."""
    keys = [str(k) for k in block if k not in META_KEYS]
    probs = np.array([float(block[k]) for k in block if k not in META_KEYS], dtype=np.float64)
    return keys, probs / probs.sum()


def band_of(age: np.ndarray, bands: list[str]) -> np.ndarray:
    """Index of the age band ('0-14', '15-59', '60+' style labels) each age falls in."""
    idx = np.zeros(age.shape, dtype=np.int64)
    for i, label in enumerate(bands):
        if label.endswith("+"):
            lo, hi = int(label[:-1]), 10_000
        else:
            lo_s, hi_s = label.split("-")
            lo, hi = int(lo_s), int(hi_s)
        idx[(age >= lo) & (age <= hi)] = i
    return idx
