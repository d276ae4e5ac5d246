package modelplane.images_test

import data.modelplane.images
import data.modelplane_fixtures as f

test_tagged_serving_image_blocks_prod if {
	doc := object.union(f.prod, {"model": {"serving": {"image": "ghcr.io/acme/churn:1.0"}}})
	{v.path | some v in images.deny} == {"model.serving.image"} with input as doc
}

test_tagged_step_image_blocks_prod if {
	doc := object.union(f.prod, {"model": {"training": {"steps": {"train": {"image": "ghcr.io/acme/t:2"}}}}})
	{v.path | some v in images.deny} == {"model.training.steps.train.image"} with input as doc
}

test_tagged_training_image_blocks_prod if {
	doc := object.union(f.prod, {"model": {"training": {"image": "ghcr.io/acme/t:2"}}})
	{v.path | some v in images.deny} == {"model.training.image"} with input as doc
}

test_tags_only_warn_in_staging if {
	doc := object.union(f.staging, {"model": {"serving": {"image": "ghcr.io/acme/churn:1.0"}}})
	count(images.deny) == 0 with input as doc
	f.ids(images.warn) == {"MP-IMG-001"} with input as doc
}

test_digests_pass if {
	count(images.deny) == 0 with input as f.prod
	count(images.warn) == 0 with input as f.staging
}

_rendered(images) := object.union(f.prod, {"summary": {"objects": [{"kind": "WorkflowTemplate", "name": "churn-training", "images": images}]}})

test_an_unpinned_image_the_compiler_adds_blocks_prod if {
	doc := _rendered(["ghcr.io/mlflow/mlflow:v3.17.2", f.base.model.training.image])
	[v.msg | some v in images.deny] == ["WorkflowTemplate churn-training runs image ghcr.io/mlflow/mlflow:v3.17.2, added by the compiler and not pinned by digest"] with input as doc
}

test_pinned_added_images_and_spec_images_pass if {
	doc := _rendered([concat("", ["ghcr.io/mlflow/mlflow", f.digest]), f.base.model.training.image])
	count(images.deny) == 0 with input as doc
}

test_added_images_are_not_held_outside_prod if {
	doc := object.union(_rendered(["ghcr.io/mlflow/mlflow:v3.17.2"]), {"environment": {"policyProfile": "staging"}})
	count(images.deny) == 0 with input as doc
}
