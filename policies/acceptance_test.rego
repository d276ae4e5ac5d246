package modelplane.acceptance_test

import data.modelplane.acceptance
import data.modelplane_fixtures as f

test_threshold_below_minimum_blocks if {
	doc := object.union(f.prod, {"model": {"training": {"acceptance": {"min": 0.7}}}})
	{v.path | some v in acceptance.deny} == {"model.training.acceptance.min"} with input as doc
}

test_threshold_at_minimum_passes if {
	doc := object.union(f.prod, {"model": {"training": {"acceptance": {"min": 0.8}}}})
	count(acceptance.deny) == 0 with input as doc
}

test_no_training_needs_no_threshold if {
	doc := object.union(f.prod, {"model": {"training": null}})
	count(acceptance.deny) == 0 with input as doc
}
