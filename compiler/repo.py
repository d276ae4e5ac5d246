"""Find, load and check a config repository: `models/<name>/model.yaml`, `environments/<env>.yaml`.

Returns typed specs plus every problem found, across all files, in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from modelplane.loader import Document, load_yaml
from modelplane.problems import ModelplaneError, Problem, format_path, sort_problems
from modelplane.resolve import Resolved, resolve
from modelplane.spec.environment import Environment
from modelplane.spec.errors import did_you_mean, validation_problems
from modelplane.spec.model import Model

KINDS: dict[str, type[BaseModel]] = {"Model": Model, "Environment": Environment}


@dataclass
class Selection:
    """Which (environment, model) pairs a command works on; empty sets mean all."""

    envs: set[str] = field(default_factory=set)
    models: set[str] = field(default_factory=set)

    def wants(self, env: str, model: str) -> bool:
        return (not self.envs or env in self.envs) and (not self.models or model in self.models)


@dataclass
class Loaded:
    doc: Document
    spec: BaseModel


@dataclass
class Repo:
    root: Path
    models: dict[str, Loaded] = field(default_factory=dict)
    environments: dict[str, Loaded] = field(default_factory=dict)
    resolved: dict[tuple[str, str], Resolved] = field(default_factory=dict)
    # Environments whose file exists but is invalid: overrides naming them are not "unknown".
    invalid_envs: set[str] = field(default_factory=set)

    def env(self, name: str) -> Environment:
        spec = self.environments[name].spec
        assert isinstance(spec, Environment)
        return spec

    def model(self, name: str) -> Model:
        spec = self.models[name].spec
        assert isinstance(spec, Model)
        return spec

    def env_order(self) -> list[str]:
        """Environments in promotion order (dev before staging before prod), then by name."""
        depth: dict[str, int] = {}

        def level(name: str, seen: frozenset[str] = frozenset()) -> int:
            if name in depth:
                return depth[name]
            parent = self.env(name).promotes_from
            if parent is None or parent not in self.environments or name in seen:
                depth[name] = 0
            else:
                depth[name] = level(parent, seen | {name}) + 1
            return depth[name]

        return sorted(self.environments, key=lambda n: (level(n), n))


MODEL_FILES = ("model.yaml", "model.yml")
SPEC_SUFFIXES = (".yaml", ".yml")


def _entry_problem(path: Path, root: Path, message: str, hint: str) -> Problem:
    return Problem(_display(path, root), 1, 1, "", message, hint, code="repo")


def _broken_link(path: Path, root: Path) -> Problem | None:
    """A symlink that leads nowhere (dangling, or a loop) would drop its spec silently."""
    if not path.is_symlink():
        return None
    try:
        path.resolve(strict=True)
    except (OSError, RuntimeError):
        return _entry_problem(path, root, "broken symlink (dangling or looping)", "point it at a file, or remove it")
    return None


def _entries(entries: Iterable[Path], root: Path, problems: list[Problem]) -> Iterator[Path]:
    """`entries` in order, less broken symlinks, which become problems."""
    for entry in sorted(entries):
        broken = _broken_link(entry, root)
        if broken is not None:
            problems.append(broken)
        else:
            yield entry


def _model_file(folder: Path, root: Path) -> tuple[Path | None, list[Problem]]:
    problems: list[Problem] = []
    found: list[Path] = []
    for entry in _entries(folder.iterdir(), root, problems):
        if entry.name in MODEL_FILES:
            found.append(entry)
        elif entry.name.lower() in MODEL_FILES:
            problems.append(
                _entry_problem(entry, root, f"'{entry.name}' is not read", f"rename it to '{entry.name.lower()}'")
            )
    if len(found) > 1:
        problems.append(_entry_problem(found[1], root, "two spec files in one model folder", "keep one of them"))
    if not found and not problems:
        problems.append(
            _entry_problem(folder, root, "model folder without model.yaml", "add model.yaml, or remove the folder")
        )
    return (found[0] if found else None), problems


def _policy_problems(folder: Path, root: Path) -> list[Problem]:
    """Anything under policies/ the gate would not read: it reads `*.rego` and `waivers.yaml` only."""
    problems: list[Problem] = []
    waivers = folder / "waivers.yaml"
    for entry in _entries(folder.rglob("*"), root, problems):
        if entry.suffix == ".rego" or entry == waivers or entry.is_dir() or entry.name.startswith("."):
            continue
        elif entry.suffix.lower() == ".rego" or entry.name.lower() == "waivers.yaml":
            fixed = entry.stem + ".rego" if entry.suffix.lower() == ".rego" else "waivers.yaml"
            problems.append(_entry_problem(entry, root, f"'{entry.name}' is not read", f"rename it to '{fixed}'"))
        else:
            problems.append(
                _entry_problem(entry, root, "not read by the gate", "policies/ holds *.rego files and one waivers.yaml")
            )
    return problems


def discover_all(root: Path) -> tuple[list[Path], list[Problem]]:
    """Every spec file, and a problem for anything in models/, environments/ or policies/ that
    would be ignored."""
    env_dir, models_dir = root / "environments", root / "models"
    if not root.is_dir():
        raise ModelplaneError(f"--root {root}: no such folder")
    if not env_dir.is_dir():
        raise ModelplaneError(f"--root {root}: no environments/ folder; is this a Modelplane config repository?")
    files: list[Path] = []
    problems: list[Problem] = []
    for entry in _entries(env_dir.iterdir(), root, problems):
        if entry.is_file() and entry.suffix in SPEC_SUFFIXES:
            files.append(entry)
        elif not entry.name.startswith("."):
            problems.append(
                _entry_problem(entry, root, "not an environment file", "environments/ holds only <name>.yaml files")
            )
    models: list[Path] = []
    if models_dir.is_dir():
        for entry in _entries(models_dir.iterdir(), root, problems):
            if entry.is_dir():
                spec, found = _model_file(entry, root)
                problems += found
                if spec is not None:
                    models.append(spec)
            elif not entry.name.startswith("."):
                problems.append(
                    _entry_problem(entry, root, "not a model folder", "models/ holds only <name>/model.yaml folders")
                )
    if not models and not any(p.file.startswith("models") for p in problems):
        problems.append(
            _entry_problem(
                models_dir, root, "no models: nothing to validate, gate or render", "add models/<name>/model.yaml"
            )
        )
    if not files and not any(p.file.startswith("environments") for p in problems):
        problems.append(
            _entry_problem(env_dir, root, "no environments", "add environments/<name>.yaml (for example dev.yaml)")
        )
    if (root / "policies").is_dir():
        problems += _policy_problems(root / "policies", root)
    return files + models, problems


def discover(root: Path) -> list[Path]:
    return discover_all(root)[0]


def spec_files(root: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """Environment and model files by name, as discovered (problems come with the load)."""
    envs: dict[str, Path] = {}
    models: dict[str, Path] = {}
    for path in discover(root):
        if path.parent.name == "environments" and path.parent.parent == root:
            envs[path.stem] = path
        else:
            models[path.parent.name] = path
    return envs, models


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        pass
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop
        return str(path)


def _problem_at(
    doc: Document, path: tuple[str | int, ...], message: str, hint: str = "", *, key: bool = True
) -> Problem:
    pos = doc.source.locate(path, at_key=key)
    return Problem(pos.file, pos.line, pos.col, format_path(path), message, hint, code="repo")


def _parse(doc: Document) -> tuple[BaseModel | None, list[Problem]]:
    if not isinstance(doc.data, dict):
        return None, [
            Problem(doc.file, 1, 1, "", "expected a mapping with apiVersion, kind and metadata", code="schema")
        ]
    kind = doc.data.get("kind")
    if kind not in KINDS:
        if "kind" not in doc.data:
            return None, [_problem_at(doc, (), "required key 'kind' is missing", "kind: Model or kind: Environment")]
        return None, [
            _problem_at(doc, ("kind",), f"unknown kind '{kind}'", did_you_mean(str(kind), list(KINDS)), key=False)
        ]
    cls = KINDS[str(kind)]
    try:
        return cls.model_validate(doc.data), []
    except ValidationError as exc:
        return None, validation_problems(exc, cls, doc.source)


def _expected_name(doc: Document, spec: BaseModel, root: Path) -> list[Problem]:
    path = Path(doc.file)
    expected = path.parent.name if isinstance(spec, Model) else path.stem
    name = spec.metadata.name  # type: ignore[attr-defined]
    if name != expected:
        where = "folder" if isinstance(spec, Model) else "file"
        return [
            _problem_at(
                doc,
                ("metadata", "name"),
                f"name '{name}' differs from its {where} name '{expected}'",
                f"rename one so both read '{name}'",
                key=False,
            )
        ]
    return []


def _check_promotions(repo: Repo) -> list[Problem]:
    problems = []
    for name, loaded in repo.environments.items():
        parent = repo.env(name).promotes_from
        if parent is None or parent in repo.invalid_envs:
            continue
        if parent not in repo.environments:
            problems.append(
                _problem_at(
                    loaded.doc,
                    ("promotesFrom",),
                    f"unknown environment '{parent}'",
                    did_you_mean(parent, list(repo.environments), "known environments"),
                    key=False,
                )
            )
            continue
        seen, cursor = {name}, parent
        while cursor is not None and cursor in repo.environments:
            if cursor in seen:
                problems.append(
                    _problem_at(loaded.doc, ("promotesFrom",), f"promotion cycle through '{cursor}'", key=False)
                )
                break
            seen.add(cursor)
            cursor = repo.env(cursor).promotes_from
    return problems


def _check_override_names(repo: Repo, names: Iterable[str]) -> list[Problem]:
    problems = []
    for name in names:
        loaded = repo.models[name]
        for env_name in loaded.doc.data.get("environments") or {}:
            if env_name not in repo.environments and env_name not in repo.invalid_envs:
                problems.append(
                    _problem_at(
                        loaded.doc,
                        ("environments", env_name),
                        f"unknown environment '{env_name}'",
                        did_you_mean(env_name, list(repo.environments), "known environments"),
                    )
                )
    return problems


def _load_files(repo: Repo, paths: Iterable[Path]) -> list[Problem]:
    """Parse and check each file, and put its spec in the repository's table for its kind."""
    problems: list[Problem] = []
    for path in paths:
        doc, found = load_yaml(path, _display(path, repo.root))
        problems += found
        spec = None
        if doc is not None:
            spec, found = _parse(doc)
            problems += found
        if doc is None or spec is None:
            if path.parent.name == "environments":
                repo.invalid_envs.add(path.stem)
            continue
        problems += _expected_name(doc, spec, repo.root)
        table = repo.models if isinstance(spec, Model) else repo.environments
        name = spec.metadata.name  # type: ignore[attr-defined]
        if name in table:
            problems.append(
                _problem_at(
                    doc, ("metadata", "name"), f"'{name}' is already defined in {table[name].doc.file}", key=False
                )
            )
            continue
        table[name] = Loaded(doc, spec)
    return problems


def _resolve_models(repo: Repo, names: Iterable[str]) -> list[Problem]:
    problems: list[Problem] = []
    for model_name in sorted(names):
        loaded = repo.models[model_name]
        for env_name in sorted(repo.environments):
            env_loaded = repo.environments[env_name]
            resolved, found = resolve(loaded.doc, env_loaded.doc, repo.env(env_name))
            problems += found
            if resolved is not None:
                repo.resolved[(env_name, model_name)] = resolved
    return problems


def load_repo(root: Path, files: list[Path] | None = None) -> tuple[Repo, list[Problem]]:
    """Load every spec under `root` (or the given files), check it, and resolve each (model, env)."""
    repo = Repo(root=root)
    found_files, problems = discover_all(root)
    problems += _load_files(repo, files if files is not None else found_files)
    problems += _check_promotions(repo)
    problems += _check_override_names(repo, sorted(repo.models))
    problems += _resolve_models(repo, repo.models)
    return repo, sort_problems(problems)


class StreamingLoad:
    """`load_repo` a share of the models at a time, for a command that starts work on the first
    share while it reads the next: the environments first, then `add` model files.

    Every problem `load_repo` finds for the same files is found here too, but in another order
    and, when a model file is not a model, not always the same ones: a command that finds an
    error reports what `load_repo` says (`problems`' caller loads again, which is rare).
    """

    def __init__(self, root: Path, env_files: list[Path]):
        self.repo = Repo(root=root)
        _, self.problems = discover_all(root)
        self.problems += _load_files(self.repo, env_files)
        self.problems += _check_promotions(self.repo)

    def add(self, model_files: list[Path]) -> list[str]:
        """Load these model files; the names of the models they added."""
        before = set(self.repo.models)
        self.problems += _load_files(self.repo, model_files)
        added = sorted(set(self.repo.models) - before)
        self.problems += _check_override_names(self.repo, added)
        self.problems += _resolve_models(self.repo, added)
        return added

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)
