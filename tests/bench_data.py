"""The benchmarks' own bulk loaders, for the tests that EXPLAIN queries on the data the benchmarks time."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def engine_module() -> ModuleType:
    path = Path(__file__).parents[1] / "benchmarks" / "engine.py"
    spec = importlib.util.spec_from_file_location("followup_benchmarks_engine", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
