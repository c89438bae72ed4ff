"""The engine in matching/ is plain Python: importing it pulls in neither flask nor sqlalchemy,
so it runs in a batch job, a notebook or a benchmark without the web app."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NAMED_MODULES = ("matching", "matching.engine", "matching.scoring", "matching.classifier", "matching.assign",
                 "matching.index", "matching.candidates")
FORBIDDEN = ("flask", "sqlalchemy")

# Imports the given modules, or every module of the package when none is given, in a fresh
# interpreter, and prints which of FORBIDDEN ended up loaded.
PROBE = """
import importlib, json, pkgutil, sys
import matching
names = sys.argv[1:] or ["matching." + m.name for m in pkgutil.iter_modules(matching.__path__)]
for name in names:
    importlib.import_module(name)
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(%r))
print(json.dumps({"imported": names, "forbidden": loaded}))
""" % (list(FORBIDDEN),)


def probe(*modules: str) -> dict[str, list[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE, *modules], cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_engine_pulls_in_neither_flask_nor_sqlalchemy():
    result = probe(*NAMED_MODULES)

    assert result["imported"] == list(NAMED_MODULES)
    assert result["forbidden"] == []


def test_no_module_of_the_matching_package_pulls_in_flask_or_sqlalchemy():
    result = probe()

    assert set(NAMED_MODULES[1:]) <= set(result["imported"])
    assert result["forbidden"] == []


def test_the_probe_would_see_flask_if_it_were_imported():
    # Guards the test itself: a probe that never reports anything proves nothing.
    assert probe("matching", "flask")["forbidden"] == ["flask"]
