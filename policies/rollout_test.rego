package modelplane.rollout_test

import data.modelplane.rollout
import data.modelplane_fixtures as f

routed := {"trafficRouting": {"provider": "istio", "host": "churn.example"}}

prod_with(serving, environment) := object.union(f.prod, {"model": {"serving": serving}, "environment": environment})

test_rolling_update_blocks_prod if {
	doc := object.union(f.prod, {"model": {"serving": {"rollout": {"strategy": "rolling"}}}})
	f.ids(rollout.deny) == {"MP-ROLL-001"} with input as doc
}

test_canary_without_analysis_blocks_prod if {
	doc := object.union(f.prod, {"model": {"serving": {"rollout": {"analysis": null}}}})
	f.ids(rollout.deny) == {"MP-ROLL-002"} with input as doc
}

test_blue_green_and_shadow_without_analysis_block_prod if {
	every s in ["blueGreen", "shadow"] {
		doc := prod_with({"rollout": {"strategy": s, "analysis": null}}, {})
		f.ids(rollout.deny) == {"MP-ROLL-002"} with input as doc
	}
}

test_every_progressive_strategy_with_analysis_passes if {
	every s in ["canary", "blueGreen", "shadow", "abTest"] {
		count(rollout.deny) == 0 with input as prod_with({"rollout": {"strategy": s}}, {})
	}
}

test_kserve_canary_needs_no_analysis if {
	doc := object.union(f.prod, {"model": {"serving": {"backend": "kserve", "rollout": {"analysis": null}}}})
	count(rollout.deny) == 0 with input as doc
}

test_canary_with_analysis_passes if {
	count(rollout.deny) == 0 with input as f.prod
}

test_dev_may_roll if {
	doc := object.union(f.dev, {"model": {"serving": {"rollout": {"strategy": "rolling", "analysis": null}}}})
	count(rollout.deny) == 0 with input as doc
}

test_a_class_below_the_environments_threshold_may_roll if {
	env := {"delivery": {"requireAnalysisFrom": "high"}}
	low := prod_with({"trafficClass": "standard", "rollout": {"strategy": "rolling", "analysis": null}}, env)
	count(rollout.deny) == 0 with input as low
	high := prod_with({"trafficClass": "critical", "rollout": {"strategy": "rolling", "analysis": null}}, env)
	f.ids(rollout.deny) == {"MP-ROLL-001"} with input as high
}

test_without_a_class_a_model_counts_as_standard if {
	env := {"delivery": {"requireAnalysisFrom": "standard"}}
	doc := prod_with({"rollout": {"strategy": "rolling"}}, env)
	f.ids(rollout.deny) == {"MP-ROLL-001"} with input as doc
	message := [v.msg | some v in rollout.deny][0] with input as doc
	contains(message, "a standard model")
}

test_pii_canary_needs_a_shadow_phase_where_the_environment_says_so if {
	env := {"delivery": {"shadowFirst": ["pii", "phi"]}}
	f.ids(rollout.deny) == {"MP-ROLL-003"} with input as prod_with({}, env)
	shadowed := prod_with({"rollout": {"shadow": {"mirrorPercent": 20, "duration": "1h"}}}, env)
	count(rollout.deny) == 0 with input as shadowed
	internal := object.union(prod_with({}, env), {"model": {"data": {"classification": ["internal"]}}})
	count(rollout.deny) == 0 with input as internal
}

test_shadow_first_applies_to_staging_too_and_not_to_a_shadow if {
	env := {"delivery": {"shadowFirst": ["pii"]}}
	staging := object.union(f.staging, {"environment": env})
	f.ids(rollout.deny) == {"MP-ROLL-003"} with input as staging
	shadow := object.union(staging, {"model": {"serving": {"rollout": {"strategy": "shadow"}}}})
	count(rollout.deny) == 0 with input as shadow
}

test_shadow_first_names_the_class if {
	doc := prod_with({}, {"delivery": {"shadowFirst": ["pii"]}})
	[v.msg | some v in rollout.deny] == ["churn holds pii data: prod canaries start with a shadow phase"] with input as doc
}

test_prod_canary_without_routing_warns if {
	f.ids(rollout.warn) == {"MP-ROLL-004"} with input as f.prod
	count(rollout.warn) == 0 with input as prod_with({"rollout": routed}, {})
	count(rollout.warn) == 0 with input as f.staging
}

ab_test(b) := object.union(prod_with({"rollout": {"strategy": "abTest"}}, {}), {"registry": {"abTest": b}})

test_ab_variant_b_must_be_registered_and_approved_in_prod if {
	approved := {"name": "churn", "version": 8, "found": true, "approved": true}
	count(rollout.deny) == 0 with input as ab_test(approved)
	pending := object.union(approved, {"approved": false})
	[v.msg | some v in rollout.deny] == ["A/B variant B, churn v8, is not approved (tag approval=approved)"] with input as ab_test(pending)
	missing := object.union(approved, {"found": false, "approved": false})
	[v.msg | some v in rollout.deny] == ["A/B variant B, churn v8, is not in the MLflow registry (modelplane.lock)"] with input as ab_test(missing)
	staging := object.union(ab_test(missing), {"environment": {"policyProfile": "staging"}})
	count(rollout.deny) == 0 with input as staging
}
