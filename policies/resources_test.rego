package modelplane.resources_test

import data.modelplane.resources
import data.modelplane_fixtures as f

test_missing_limit_blocks_staging_with_its_path if {
	doc := object.union(f.staging, {"model": {"serving": {"resources": {"limits": {"memory": null}}}}})
	{v.path | some v in resources.deny} == {"model.serving.resources.limits.memory"} with input as doc
}

test_missing_requests_block_prod if {
	doc := object.union(f.prod, {"model": {"serving": {"resources": {"requests": {"cpu": null, "memory": null}}}}})
	count(resources.deny) == 2 with input as doc
}

test_missing_limits_only_warn_in_dev if {
	doc := object.union(f.dev, {"model": {"serving": {"resources": {"limits": {"cpu": null}}}}})
	count(resources.deny) == 0 with input as doc
	f.ids(resources.warn) == {"MP-RES-001"} with input as doc
}

test_complete_resources_pass if {
	count(resources.deny) == 0 with input as f.prod
	count(resources.warn) == 0 with input as f.prod
}

test_training_requests_warn if {
	doc := object.union(f.prod, {"model": {"training": {"resources": {"requests": {"cpu": null}}}}})
	{v.path | some v in resources.warn} == {"model.training.resources.requests.cpu"} with input as doc
}
