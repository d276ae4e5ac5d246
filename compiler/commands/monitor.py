"""`modelplane monitor run`: measure drift, accuracy and fairness for one (model, environment) and publish them.

The rendered monitor CronWorkflow calls it with arguments derived from the spec; see
`modelplane.render.monitor_job`. Bad data stops the run with one line naming the data set and
the column (exit 1) before anything is pushed.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING
from urllib.error import URLError

from modelplane.monitor import catalog
from modelplane.problems import ModelplaneError

if TYPE_CHECKING:
    from modelplane.monitor.compute import Plan


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    run_parser = sub.add_parser("run", help="measure once and publish", description="measure once and publish")
    add = run_parser.add_argument
    add("--model", required=True, help="the model's name (label `model`)")
    add("--environment", required=True, help="the environment's name (label `environment`)")
    add("--namespace", required=True, help="the Kubernetes namespace the rules select on (label `namespace`)")
    add("--reference", required=True, metavar="URI", help="reference data set: CSV or Parquet, local or fsspec URI")
    add("--current", required=True, metavar="URI", help="recent production data, the reference's columns")
    add("--feedback", metavar="URI", help="labelled feedback: target, prediction and protected attributes")
    add(
        "--feature",
        action="append",
        default=[],
        help="a feature to check for drift (default: every column "
        "of the reference except target, prediction and protected attributes); repeatable",
    )
    add(
        "--drift-metric",
        default="psi",
        choices=catalog.DRIFT_METRICS,
        help="the spec's drift metric (psi and ks are always published too)",
    )
    add("--accuracy-metric", action="append", default=[], choices=sorted(catalog.ACCURACY_DIRECTION), help="repeatable")
    add("--fairness-metric", choices=sorted(catalog.FAIRNESS_NEEDS_TARGET))
    add("--protected-attribute", action="append", default=[], help="repeatable")
    add("--target", default="label", help="the label column of the feedback data set (default: label)")
    add("--prediction", default="prediction", help="the prediction column (default: prediction)")
    add("--pushgateway", metavar="URL", help="push here (default: print the samples and push nothing)")


def plan_of(args: argparse.Namespace) -> Plan:
    from modelplane.monitor import compute

    if args.fairness_metric and not args.protected_attribute:
        raise ModelplaneError("--fairness-metric needs at least one --protected-attribute")
    return compute.Plan(
        features=tuple(args.feature),
        drift_metric=args.drift_metric,
        accuracy_metrics=tuple(dict.fromkeys(args.accuracy_metric)),
        fairness_metric=args.fairness_metric,
        protected=tuple(dict.fromkeys(args.protected_attribute)),
        target=args.target,
        prediction=args.prediction,
    )


def run(args: argparse.Namespace) -> int:
    from modelplane.monitor import compute, data, publish  # pandas and Evidently: only when measuring

    plan = plan_of(args)
    reference = data.read("reference", args.reference)
    current = data.read("current", args.current)
    feedback = data.read("feedback", args.feedback) if args.feedback else None
    result = compute.measure(reference, current, feedback, plan)
    registry = publish.registry_for(args.namespace, args.model, args.environment, result, time.time())
    if not args.pushgateway:
        sys.stdout.write(publish.exposition(registry))
        return 0
    try:
        publish.push(args.pushgateway, registry, args.namespace, args.model)
    except (URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelplaneError(f"cannot push to the Pushgateway {args.pushgateway}: {reason}") from None
    drifted = len({feature for feature, _ in result.drift})
    print(
        f"modelplane monitor: {args.model} in {args.environment}: pushed {len(result.drift)} drift score(s) over "
        f"{drifted} feature(s), {len(result.accuracy)} accuracy and {len(result.fairness)} fairness value(s) "
        f"to {args.pushgateway}"
    )
    return 0
