"""Structure cannot be changed by data: hostile strings either fail validation at their line, or
render as one scalar inside objects shaped exactly like those rendered from a plain value.

Every example goes through the real path from bytes to rendered bytes: the spec is written as
text (JSON, the YAML subset that escapes every character exactly), read by the loader,
validated, resolved, rendered, serialised and read back. Helm is a separate process (about
60 ms each), so it renders a sample of the accepted examples at the end; what keeps every other
example safe inside helm is checked statically on the chart: no template prints a value except
through `toJson` or `toYaml` (`test_the_chart_prints_values_only_as_data`).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelplane.loader import parse_text
from modelplane.render.argocd import render_application
from modelplane.render.base import Output, parse_objects
from modelplane.render.card import render_card
from modelplane.render.monitoring import render_monitoring
from modelplane.render.monitoring_tests import promtool_tests
from modelplane.render.serving import CHART_DIR, HelmRenderer, serving_values
from modelplane.render.training import render_training
from modelplane.repo import Repo, load_repo
from modelplane.resolve import Resolved, resolve
from modelplane.spec.model import RESERVED_ENV
from tests.conftest import ROOT, require_tool, synced_paths

EXAMPLES = 1000
HELM_SAMPLE = 12
MODEL_FILE = "models/churn/model.yaml"
KSERVE_FILE = "models/fraud-detection/model.yaml"

# Pieces a hostile contributor would combine: YAML indicators, quotes, template delimiters,
# PromQL terminators, control and separator characters, and words YAML 1.1 reads as non-strings.
HOSTILE = [
    "\n",
    "\r",
    "\t",
    '"',
    "'",
    "\\",
    "{{",
    "}}",
    "${{",
    "}}$",
    '"})',
    "})",
    ": ",
    "- ",
    "#",
    "&a",
    "*a",
    "!!str",
    "|",
    ">",
    "%",
    "@",
    "`",
    "[",
    "]",
    "{",
    "}",
    ",",
    "?",
    "\x00",
    "\x07",
    "\x1b",
    "\x7f",
    "\x85",
    "\u2028",
    "\ufeff",
    "on",
    "yes",
    "1e6",
    "1.10",
    "0x1F",
    ".nan",
    "~",
    "null",
    "  hostPID: true",
    "a",
    "Z",
    "_",
    "0",
    "/",
    " ",
    "é",
    "漢",
]
hostile_text = st.one_of(
    st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=8).map("".join),
    st.text(min_size=1, max_size=20),
)


ROUTING = {"host": "churn.models.acme.example", "testerHeader": {"name": "x-modelplane-tester", "value": "true"}}
# (file, key path, plain value, does the value reach a rendered object as one whole scalar?)
SLOTS: list[tuple[str, tuple[str | int, ...], str, bool]] = [
    (MODEL_FILE, ("serving", "env", "LOG_LEVEL"), "info", True),
    (MODEL_FILE, ("serving", "env", "<key>"), "PLAIN", True),
    (MODEL_FILE, ("serving", "probes", "readiness", "path"), "/ready", True),
    (MODEL_FILE, ("serving", "secretEnv", 0, "key"), "token", True),
    (MODEL_FILE, ("serving", "secretEnv", 0, "name"), "TOKEN", True),
    (MODEL_FILE, ("serving", "rollout", "trafficRouting", "host"), "churn.models.acme.example", True),
    (MODEL_FILE, ("serving", "rollout", "trafficRouting", "testerHeader", "value"), "true", True),
    (MODEL_FILE, ("monitoring", "accuracy", "metric"), "auc", False),
    (MODEL_FILE, ("monitoring", "fairness", "metric"), "disparate_impact", False),
    (MODEL_FILE, ("monitoring", "fairness", "attributes", 0), "age_band", False),
    (MODEL_FILE, ("monitoring", "alertRoutes", "pagerduty"), "growth-ml-oncall", True),
    (MODEL_FILE, ("training", "steps", "train", "args", 0), "--plain", True),
    (MODEL_FILE, ("training", "acceptance", "metric"), "auc", False),
    (MODEL_FILE, ("metadata", "name"), "churn", True),
    (MODEL_FILE, ("metadata", "team"), "growth-ds", True),
    (MODEL_FILE, ("registry", "name"), "churn", True),
    (MODEL_FILE, ("card", "summary"), "plain", False),
    (KSERVE_FILE, ("serving", "kserve", "modelFormat"), "xgboost", True),
    (KSERVE_FILE, ("serving", "kserve", "runtime"), "kserve-xgbserver", True),
    (KSERVE_FILE, ("serving", "kserve", "storageUri"), "s3://bucket/model", True),
]


_YAML_RAW = re.compile("[\x7f-\x9f\u2028\u2029\ufeff]")


def _set(data: Any, path: tuple[str | int, ...], value: str) -> None:
    """Put `value` at `path`; a `<key>` step makes it a new mapping key (with the value `v`)."""
    parent = data
    for step, after in zip(path[:-1], path[1:], strict=True):
        if isinstance(step, str):
            parent.setdefault(step, [] if isinstance(after, int) else {})
        elif step == len(parent):
            parent.append({})
        parent = parent[step]
    if isinstance(path[-1], int) and path[-1] == len(parent):
        parent.append(value)
    elif path[-1] == "<key>":
        parent[value] = "v"
    else:
        parent[path[-1]] = value


def _shape(value: Any) -> Any:
    """The key structure of rendered data: keys and nesting kept, scalars replaced by their type."""
    if isinstance(value, dict):
        return {str(k): _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__


def _scalars(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _scalars(v)
    elif isinstance(value, list):
        for v in value:
            yield from _scalars(v)
    else:
        yield value


class Spec:
    """The example repository's spec files, rewritten one slot at a time."""

    def __init__(self, repo: Repo):
        self.repo = repo
        self.env_doc = repo.environments["prod"].doc
        self.data = {f: yaml.safe_load((ROOT / f).read_text()) for f in (MODEL_FILE, KSERVE_FILE)}

    def text(self, file: str, path: tuple[str | int, ...], value: str) -> str:
        data = copy.deepcopy(self.data[file])
        data.pop("environments", None)  # the slot's value must not be overridden
        if file == MODEL_FILE:  # churn's prod canary routes through Istio (its override, popped above)
            data["serving"]["rollout"]["trafficRouting"] = copy.deepcopy(ROUTING)
        if path == ("metadata", "name"):
            data["metadata"]["name"] = value
        elif path[-1] == "<key>":
            data["serving"]["env"] = {}
        _set(data, path, value)
        # JSON is YAML and escapes characters exactly (a YAML writer folds U+0085 to a space); the
        # few that YAML does not allow raw inside quotes are escaped the YAML way.
        return _YAML_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(data, indent=2, ensure_ascii=False))

    def resolve(self, file: str, text: str) -> tuple[Resolved | None, list[str], int]:
        """The resolved spec, or rendered problems and the line the slot's value was written on."""
        doc, problems = parse_text(text, file)
        if doc is None or problems:
            return None, [p.render() for p in problems], 0
        resolved, problems = resolve(doc, self.env_doc, self.repo.env("prod"))
        return resolved, [p.render() for p in problems], 0


def _python_outputs(resolved: Resolved) -> list[Output]:
    outputs = [
        *render_monitoring(resolved),
        render_application(resolved, synced_paths(resolved)),
        render_card(resolved),
    ]
    training = render_training(resolved)
    if training is not None:
        outputs.append(training)
    return outputs


def _rendered(resolved: Resolved) -> dict[str, Any]:
    """Every rendered file as the data a reader gets back from its bytes, plus the helm values.

    `monitoring.rules.yaml` holds the same groups as `monitoring.yaml` and the promtool tests are
    the largest file, so those two are compared as the data the writer is given (the writer
    itself is covered by every other file): this halves the time per example.
    """
    out: dict[str, Any] = {"values": serving_values(resolved), "promtool": promtool_tests(resolved)}
    for output in _python_outputs(resolved):
        if output.path in ("monitoring.rules.yaml", "monitoring.test.yaml"):
            continue
        text = output.content()
        out[output.path] = parse_objects(text) if output.path.endswith(".yaml") else text
    return out


def _line_at(text: str, path: tuple[str | int, ...], value: str) -> int:
    """The line the slot's value was dumped on, where a rejection must point."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    for step in path[:-1]:
        if isinstance(node, yaml.SequenceNode):
            node = node.value[int(step)]
        else:
            node = next(v for k, v in node.value if k.value == step)
    if isinstance(node, yaml.SequenceNode):
        return int(node.value[int(path[-1])].start_mark.line) + 1
    key = value if path[-1] == "<key>" else path[-1]
    return next(int(k.start_mark.line) + 1 for k, _ in node.value if k.value == key)


@functools.cache
def _spec() -> Spec:
    repo, problems = load_repo(ROOT)
    assert problems == []
    return Spec(repo)


@pytest.fixture(scope="module")
def spec() -> Spec:
    return _spec()


@functools.cache
def _baselines() -> dict[int, dict[str, Any]]:
    spec = _spec()
    out = {}
    for i, (file, path, plain, _) in enumerate(SLOTS):
        resolved, problems, _ = spec.resolve(file, spec.text(file, path, plain))
        assert resolved is not None, problems
        out[i] = {k: _shape(v) for k, v in _rendered(resolved).items() if not isinstance(v, str)}
    return out


ACCEPTED: list[tuple[int, Resolved, str]] = []
COUNTS = {"rejected": 0, "accepted": 0}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(slot=st.integers(min_value=0, max_value=len(SLOTS) - 1), value=hostile_text)
def test_hostile_strings_are_rejected_at_their_line_or_stay_one_scalar(slot: int, value: str) -> None:
    spec, baselines = _spec(), _baselines()
    file, path, _, whole = SLOTS[slot]
    text = spec.text(file, path, value)
    resolved, problems, _ = spec.resolve(file, text)
    if resolved is None:
        COUNTS["rejected"] += 1
        assert problems, "rejected without a reason"
        for problem in problems:
            assert "\n" not in problem and "\r" not in problem, f"a problem spans lines: {problem!r}"
            assert problem.startswith(f"{file}:"), problem
        line = _line_at(text, path, value)
        assert any(p.startswith(f"{file}:{line}:") for p in problems), (line, problems)
        return
    COUNTS["accepted"] += 1
    rendered = _rendered(resolved)
    for name, shape in baselines[slot].items():
        assert _shape(rendered[name]) == shape, f"{name}: the value {value!r} changed the structure"
    if whole:
        found = [v for k, data in rendered.items() if not isinstance(data, str) for v in _scalars(data)]
        assert value in found, f"{value!r} does not appear as one scalar"
    hostile = any(c in value for c in "\n\"'{}:#")
    if len(ACCEPTED) < HELM_SAMPLE and hostile and value in list(_scalars(rendered["values"])):
        ACCEPTED.append((slot, resolved, value))


def test_a_sample_of_accepted_hostile_values_keeps_its_structure_through_helm(spec: Spec) -> None:
    """Runs after the property test (file order): the accepted examples it kept, through real helm."""
    require_tool("helm")
    ran = COUNTS["accepted"] + COUNTS["rejected"]
    assert ran >= EXAMPLES, f"the property test ran {ran} of its {EXAMPLES} examples (did it fail?)"
    assert ACCEPTED, "the generator found no accepted hostile value for helm"
    helm = HelmRenderer()
    for slot, resolved, value in ACCEPTED:
        file, path, plain_value, _ = SLOTS[slot]
        plain, problems, _ = spec.resolve(file, spec.text(file, path, plain_value))
        assert plain is not None, problems
        got = parse_objects(helm.render_many([resolved])[resolved.key].content())
        want = parse_objects(helm.render_many([plain])[plain.key].content())
        assert [_shape(o) for o in got] == [_shape(o) for o in want], f"{value!r} changed the helm output's structure"
        assert value in list(_scalars(got)), f"{value!r} is not one scalar in the helm output"


def _actions(template: str) -> Iterator[str]:
    """The text of every `{{ … }}` action, reading string literals whole (they may hold `}}`)."""
    at = template.find("{{")
    while at != -1:
        i, quoted = at + 2, False
        while quoted or not template.startswith("}}", i):
            if template[i] == "\\" and quoted:
                i += 1
            elif template[i] == '"':
                quoted = not quoted
            i += 1
        yield template[at + 2 : i].strip("- \n")
        at = template.find("{{", i + 2)


CONTROL = re.compile(r"^((if|else|end|range|with|define)\b|/\*|\$\w+ :=)")


def test_the_chart_prints_values_only_as_data() -> None:
    """Every template action that prints something prints it through toJson/toYaml (data, never text),
    includes a helper, or prints a number computed with `int`."""
    raw = []
    for template in sorted((CHART_DIR / "templates").glob("*")):
        for action in _actions(template.read_text()):
            if CONTROL.match(action):
                continue
            safe = (
                action.startswith(("toJson ", "toYaml "))
                or re.search(r"\|\s*toJson$", action)
                or re.match(r"^(include|toYaml) .*\|\s*nindent \d+$", action)
                or re.match(r'^include "[\w.-]+" (\.|\(dict [^|]*\))$', action)
                or re.match(r"^max 1 \(int [\w.]+\)$", action)
            )
            if not safe:
                raw.append(f"{template.name}: {{{{ {action} }}}}")
    assert raw == [], "values printed as text can change the YAML structure:\n" + "\n".join(raw)


def test_numbers_and_yaml11_words_keep_their_type_through_helm(spec: Spec, tmp_path: Path) -> None:
    require_tool("helm")
    data = copy.deepcopy(spec.data[MODEL_FILE])
    data.pop("environments", None)
    data["serving"]["rollout"]["trafficRouting"] = copy.deepcopy(ROUTING)
    data["serving"]["env"] = {"FLAG": "on", "VERSION": "1.10", "BIG": "1000000"}
    data["serving"]["replicas"] = {"min": 2, "max": 1000000}
    data["serving"]["probes"]["readiness"]["initialDelaySeconds"] = 12345678
    resolved, problems, _ = spec.resolve(MODEL_FILE, yaml.safe_dump(data))
    assert resolved is not None, problems
    text = HelmRenderer().render_many([resolved])[resolved.key].content()
    assert "e+0" not in text
    objects = {o["kind"]: o for o in parse_objects(text)}
    container = objects["Rollout"]["spec"]["template"]["spec"]["containers"][0]
    values = {e["name"]: e["value"] for e in container["env"] if "value" in e and e["name"] not in RESERVED_ENV}
    assert values == {"FLAG": "on", "VERSION": "1.10", "BIG": "1000000"}
    assert container["readinessProbe"]["initialDelaySeconds"] == 12345678
    assert objects["HorizontalPodAutoscaler"]["spec"]["maxReplicas"] == 1000000
