package modelplane.rollout_test

import data.modelplane.rollout
import data.modelplane_fixtures as f

test_rolling_update_blocks_prod if {
	doc := object.union(f.prod, {"model": {"serving": {"rollout": {"strategy": "rolling"}}}})
	f.ids(rollout.deny) == {"MP-ROLL-001"} with input as doc
}

test_canary_without_analysis_blocks_prod if {
	doc := object.union(f.prod, {"model": {"serving": {"rollout": {"analysis": null}}}})
	f.ids(rollout.deny) == {"MP-ROLL-002"} with input as doc
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
