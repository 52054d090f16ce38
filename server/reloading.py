"""Loading and unloading models while the server runs: the repository extension's calls, polling
of the repository, and repeating what an API call did on another worker.

Every change builds the next `Registry` and swaps it in with one assignment: a request holds the
registry (and the `Model`) it started with, so nothing a request uses changes under it. Loads run
in a worker thread (checking a sha256 and building an onnxruntime session take milliseconds to
seconds) while the event loop keeps answering. A version that fails to load never replaces the
one being served: the old session keeps answering and the reason is kept for the index, logged
and counted.

What each trigger does with a model's versions:
- an explicit load serves what the model's folder holds now: every version folder is (re)loaded,
  versions whose folder is gone are dropped; if the model folder itself is gone or empty, nothing
  changes and the call fails, naming why;
- polling only adds: new version folders and changed ones (a version's files, by size, time and
  inode) are loaded; a vanished folder is reported, never unloaded (a half-finished copy or an
  accidental delete must not take a model down). Unloading is always an explicit call;
- an explicit unload removes every version of the model, and polling leaves it unloaded until an
  explicit load.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnxruntime as ort
from anyio import to_thread

from server.control import ControlFile, Entry
from server.errors import ArtifactError, ModelNotFound
from server.logs import event
from server.model import Model
from server.repository import Registry, load_version, scan_model
from server.state import ServingState

logger = logging.getLogger("server")
READY = "READY"
UNAVAILABLE = "UNAVAILABLE"
Fingerprint = tuple[tuple[str, int, int, int], ...]


def fingerprint(folder: Path) -> Fingerprint:
    """The version folder's files by name, size, modification time and inode (a rename of a new
    copy into place changes the inode even when size and time match)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return ()
    found = []
    for entry in entries:
        try:
            stat = entry.stat()
        except OSError:
            continue
        found.append((entry.name, stat.st_size, stat.st_mtime_ns, stat.st_ino))
    return tuple(sorted(found))


def model_names(root: Path) -> list[str]:
    """The model folders of the repository (an error when the repository is gone)."""
    try:
        return sorted(
            entry.name
            for entry in os.scandir(root)
            if entry.is_dir() and not entry.name.startswith(".")
        )
    except OSError as error:
        raise ArtifactError(f"the model repository {str(root)!r}: {error.strerror}") from None


@dataclass(slots=True)
class Outcome:
    """What one load of one model did: versions loaded, and reasons for those that failed (the
    empty key for a failure of the whole model)."""

    name: str
    loaded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def message(self) -> str:
        parts = [
            f"version {version}: {reason}" if version else reason
            for version, reason in self.failed.items()
        ]
        return f"failed to load {self.name!r}: " + "; ".join(parts)


class Reloader:
    def __init__(
        self,
        state: ServingState,
        options: ort.SessionOptions,
        batch_options: ort.SessionOptions | None = None,
    ) -> None:
        self.state = state
        self.root = state.settings.artifacts_path
        self._options = options
        self._batch_options = batch_options
        self._control: ControlFile | None = None
        self._lock = asyncio.Lock()
        self._fingerprints: dict[tuple[str, str], Fingerprint] = {}
        self._failures: dict[tuple[str, str], tuple[Fingerprint, str]] = {}
        self._problems: dict[str, str] = {}  # model -> why its folder cannot be read
        self._unloaded: set[str] = set()
        self._applied: dict[str, Entry] = {}

    def start(self, control: ControlFile | None) -> None:
        """Take stock of what start-up loaded and, with several workers (`control`), follow what
        the API did before this one started (a model unloaded through the API stays unloaded in
        a replacement worker)."""
        self._control = control
        for model in self.state.registry.every_version():
            key = (model.name, model.version)
            self._fingerprints[key] = fingerprint(self.root / model.name / model.version)
        if self._control is not None:
            self._applied = self._control.changed() or {}
            for name, entry in self._applied.items():
                if entry["unloaded"]:
                    self._unload(name, "unloaded through the API")
        self._changed()

    async def load(self, name: str) -> Outcome:
        """The repository extension's load: (re)load the model from its folder."""
        if name.startswith(".") or "/" in name or "\\" in name:
            # Not a folder of the repository (hidden entries are not models).
            return Outcome(name, failed={"": f"{name!r} is not a model name"})
        async with self._lock:
            if self._control is not None:
                self._applied[name] = self._control.note(name, unloaded=False)
            return await self._load(name, "load", only_changed=False)

    async def unload(self, name: str) -> None:
        """The repository extension's unload: stop serving every version of the model."""
        async with self._lock:
            if name not in self.state.registry.names():
                raise ModelNotFound(f"Model {name!r} is not loaded")
            if self._control is not None:
                self._applied[name] = self._control.note(name, unloaded=True)
            self._unload(name, "unloaded through the API")

    async def poll(self) -> None:
        """Load what is new or changed in the repository."""
        async with self._lock:
            try:
                names = await to_thread.run_sync(model_names, self.root)
            except ArtifactError as error:
                self._problem("", error.message)
                return
            self._problems.pop("", None)
            for name in sorted(set(names) | set(self.state.registry.names())):
                if name not in self._unloaded:
                    await self._load(name, "poll", only_changed=True)

    async def follow(self) -> None:
        """Repeat the load and unload calls another worker received."""
        if self._control is None:
            return
        entries = self._control.changed()
        if not entries:
            return
        async with self._lock:
            for name, entry in entries.items():
                if self._applied.get(name) == entry:
                    continue
                self._applied[name] = entry
                if entry["unloaded"]:
                    self._unload(name, "unloaded through the API (another worker)")
                else:
                    await self._load(name, "load (another worker)", only_changed=False)

    async def _load(self, name: str, trigger: str, only_changed: bool) -> Outcome:
        outcome = Outcome(name)
        self._unloaded.discard(name)
        try:
            versions = [str(v) for v in await to_thread.run_sync(scan_model, self.root, name)]
        except ArtifactError as error:
            # Nothing to load: whatever is loaded keeps serving.
            outcome.failed[""] = reason = self._reason(error)
            self._problem(name, reason, force=not only_changed)
            return outcome
        self._problems.pop(name, None)
        current = self.state.registry.models().get(name, {})
        serving: dict[str, Model] = dict(current) if only_changed else {}
        for version in versions:
            key = (name, version)
            files = await to_thread.run_sync(fingerprint, self.root / name / version)
            failure = self._failures.get(key)
            if only_changed and (
                (version in current and self._fingerprints.get(key) == files)
                or (failure is not None and failure[0] == files)
            ):
                continue  # unchanged since it was loaded, or since it failed (reported then)
            try:
                model = await to_thread.run_sync(
                    load_version,
                    self.root,
                    name,
                    int(version),
                    self._options,
                    self._batch_options,
                )
            except ArtifactError as error:
                outcome.failed[version] = reason = self._reason(error)
                self._failures[key] = (files, reason)
                if version in current:
                    serving[version] = current[version]  # the old one keeps serving
                self._report_failure(name, version, reason, trigger, version in current)
                continue
            serving[version] = model
            outcome.loaded.append(version)
            self._fingerprints[key] = files
            self._failures.pop(key, None)
            self.state.metrics.model_loads.inc((name, "loaded"))
            event(
                logger,
                "model_loaded",
                f"loaded {name} version {version}",
                model=name,
                version=version,
                sha256=model.manifest.sha256,
                type=model.manifest.type,
                trigger=trigger,
            )
        for version in sorted(set(current) - set(serving), key=int):
            self._fingerprints.pop((name, version), None)
            event(
                logger,
                "model_unloaded",
                f"unloaded {name} version {version}",
                model=name,
                version=version,
                reason="its folder left the repository",
            )
        self._swap(name, serving)
        return outcome

    def _reason(self, error: ArtifactError) -> str:
        """Why a load failed, naming files inside the repository (`random_forest/3/model.onnx`):
        clients read it (the load call, the index), and the server's own paths are not theirs."""
        return error.message.replace(f"{self.root}{os.sep}", "")

    def _unload(self, name: str, reason: str) -> None:
        self._unloaded.add(name)
        for model in self.state.registry.models().get(name, {}).values():
            self._fingerprints.pop((name, model.version), None)
            event(
                logger,
                "model_unloaded",
                f"unloaded {name} version {model.version}",
                model=name,
                version=model.version,
                reason=reason,
            )
        self._swap(name, {})

    def _swap(self, name: str, versions: dict[str, Model]) -> None:
        models = self.state.registry.models()
        if versions:
            models[name] = versions
        else:
            models.pop(name, None)
        self.state.registry = Registry(models)  # the atomic step
        self._changed()

    def _changed(self) -> None:
        self.state.metrics.models_changed(self.state.registry.every_version())

    def _report_failure(
        self, name: str, version: str, reason: str, trigger: str, kept: bool
    ) -> None:
        self.state.metrics.model_loads.inc((name, "failed"))
        still = "; the version loaded before keeps serving" if kept else ""
        event(
            logger,
            "model_load_failed",
            f"cannot load {name} version {version}{still}",
            logging.ERROR,
            model=name,
            version=version,
            reason=reason,
            trigger=trigger,
            kept_serving=kept,
        )

    def _problem(self, name: str, reason: str, force: bool = False) -> None:
        """A model folder (or, for name "", the repository) that cannot be read: reported when
        it first happens, not at every poll."""
        if force or self._problems.get(name) != reason:
            if name:
                self.state.metrics.model_loads.inc((name, "failed"))
            event(
                logger,
                "model_load_failed",
                f"cannot load {name or 'the repository'}; what is loaded keeps serving",
                logging.ERROR,
                model=name or None,
                reason=reason,
            )
        self._problems[name] = reason

    def index(self, ready_only: bool) -> list[dict[str, Any]]:
        """Triton's repository index: every model and version on disk or loaded, with its state
        and, when it is not plainly ready, why."""
        registry = self.state.registry
        on_disk: dict[str, list[str]] = {}
        try:
            names = model_names(self.root)
        except ArtifactError:
            names = []
        for name in names:
            try:
                on_disk[name] = [str(version) for version in scan_model(self.root, name)]
            except ArtifactError:
                on_disk[name] = []
        failed = set(self._failures)
        everything = set(on_disk) | set(registry.names()) | self._unloaded
        entries: list[dict[str, Any]] = []
        for name in sorted(everything):
            loaded = set(registry.versions(name)) if name in registry.names() else set()
            known = set(on_disk.get(name, [])) | loaded
            known |= {version for model, version in failed if model == name}
            problem = self._problems.get(name, "")
            if not known:
                reason = problem or ("unloaded" if name in self._unloaded else "no versions")
                entries.append({"name": name, "state": UNAVAILABLE, "reason": reason})
            for version in sorted(known, key=int):
                entries.append(self._entry(name, version, version in loaded, problem))
        return [entry for entry in entries if entry["state"] == READY or not ready_only]

    def _entry(self, name: str, version: str, loaded: bool, problem: str) -> dict[str, Any]:
        failure = self._failures.get((name, version), ((), ""))[1]
        if loaded:
            reason = problem or (f"serving the version loaded before; {failure}" if failure else "")
            return {"name": name, "version": version, "state": READY, "reason": reason}
        reason = "unloaded" if name in self._unloaded else problem or failure or "not loaded"
        return {"name": name, "version": version, "state": UNAVAILABLE, "reason": reason}
