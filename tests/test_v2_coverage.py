"""Every name of the v2 API reference exists in minidl, and docs/v2_coverage.md is current."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = json.loads((ROOT / "tests" / "fixtures" / "v2_reference.json").read_text())


def _generator():
    spec = importlib.util.spec_from_file_location("make_v2_coverage",
                                                  ROOT / "docs" / "make_v2_coverage.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_counts():
    """The v2 reference: 93 layers, 18 networks, 14 evaluators, 13 datasets."""
    counts = {module: len(set(names)) for module, names in REFERENCE.items()
              if module != "source"}
    assert counts == {"layer": 93, "networks": 18, "evaluator": 14, "dataset": 13}


@pytest.mark.parametrize("module", ["layer", "networks", "evaluator", "dataset"])
def test_every_documented_name_exists(module):
    generator = _generator()
    missing = [name for name in REFERENCE[module] if generator.where(module, name) is None]
    assert not missing, f"paddle.{module} lacks {missing}"


def test_coverage_table_is_current():
    table = (ROOT / "docs" / "v2_coverage.md").read_text()
    assert table == _generator().table(), \
        "docs/v2_coverage.md is out of date: run python docs/make_v2_coverage.py"
