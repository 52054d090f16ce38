"""The import tracer the server's process tests install (servers themselves are started with
`benchmarks.processes`, the one helper for tests, benchmarks and the reliability suite)."""

from __future__ import annotations

from pathlib import Path

# Installed as `sitecustomize` (through PYTHONPATH), so it runs first in every Python process the
# server starts, the supervisor and each worker alike: an import tracer noting which module
# executes `import pickle` (and the other forbidden names), and an audit hook noting any
# unpickling (`pickle.find_class` fires for every class a pickle names). Reported at exit, one
# file per process.
TRACER = """
import atexit, builtins, json, os, sys
WATCHED = {"pickle", "_pickle", "joblib", "sklearn", "xgboost", "pandas"}
importers, unpickled = set(), []
real_import = builtins.__import__
def traced(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and name.partition(".")[0] in WATCHED:
        importers.add(((globals or {}).get("__name__", "?"), name))
    return real_import(name, globals, locals, fromlist, level)
builtins.__import__ = traced
def audit(event, args):
    if event == "pickle.find_class":
        unpickled.append(repr(args))
sys.addaudithook(audit)
def report():
    path = os.path.join(os.environ["IMPORT_REPORT_DIR"], f"{os.getpid()}.json")
    with open(path, "w") as out:
        json.dump({"argv": sys.argv, "modules": sorted(sys.modules),
                   "importers": sorted(importers), "unpickled": unpickled}, out)
atexit.register(report)
"""


def tracer_env(folder: Path) -> dict[str, str]:
    """The environment that installs TRACER in every process; reports land in `folder`."""
    (folder / "sitecustomize.py").write_text(TRACER)
    (folder / "reports").mkdir()
    return {"PYTHONPATH": str(folder), "IMPORT_REPORT_DIR": str(folder / "reports")}
