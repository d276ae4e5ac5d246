package modelplane.cost_test

import data.modelplane.cost
import data.modelplane_fixtures as f

test_cpu_over_budget_blocks if {
	doc := object.union(f.prod, {"summary": {"maxCpuMillicores": 65000}})
	{v.id | some v in cost.deny} == {"MP-COST-001"} with input as doc
}

test_memory_over_budget_blocks if {
	doc := object.union(f.prod, {"summary": {"maxMemoryBytes": 274877906945}})
	{v.id | some v in cost.deny} == {"MP-COST-002"} with input as doc
}

test_no_budget_no_limit if {
	doc := object.union(f.dev, {"summary": {"maxCpuMillicores": 999999}})
	count(cost.deny) == 0 with input as doc
}

test_spot_training_blocks_prod if {
	doc := object.union(f.prod, {"model": {"training": {"spot": true}}})
	{v.path | some v in cost.deny} == {"model.training.spot"} with input as doc
}

test_spot_training_blocked_where_not_allowed if {
	doc := object.union(f.staging, {"model": {"training": {"spot": true}}, "environment": {"limits": {"allowSpotTraining": false}}})
	{v.id | some v in cost.deny} == {"MP-COST-003"} with input as doc
}

test_spot_training_allowed_in_staging if {
	doc := object.union(f.staging, {"model": {"training": {"spot": true}}})
	count(cost.deny) == 0 with input as doc
}
