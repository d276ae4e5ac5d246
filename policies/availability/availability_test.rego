package modelplane.availability_test

import data.modelplane.availability
import data.modelplane_fixtures as f

_pdb := {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "name": "churn"}

_rendered(objects) := {"summary": {"rendered": true, "objects": objects}}

test_two_replicas_with_a_pdb_pass_prod if {
	doc := object.union(f.prod, _rendered([_pdb]))
	count(availability.deny) == 0 with input as doc
}

test_one_replica_blocks_prod if {
	doc := object.union(f.prod, {"model": {"serving": {"replicas": {"min": 1}}}})
	f.ids(availability.deny) == {"MP-AVAIL-001"} with input as doc
}

test_no_min_means_one_replica if {
	doc := json.remove(f.prod, ["model/serving/replicas/min"])
	f.ids(availability.deny) == {"MP-AVAIL-001"} with input as doc
}

test_rendered_without_a_pdb_blocks_prod if {
	doc := object.union(f.prod, _rendered([{"apiVersion": "apps/v1", "kind": "Deployment", "name": "churn"}]))
	f.ids(availability.deny) == {"MP-AVAIL-002"} with input as doc
}

test_kserve_needs_replicas_but_no_chart_pdb if {
	kserve := object.union(f.prod, {"model": {"serving": {"backend": "kserve"}}})
	count(availability.deny) == 0 with input as object.union(kserve, _rendered([]))
	one := object.union(kserve, {"model": {"serving": {"replicas": {"min": 1}}}})
	f.ids(availability.deny) == {"MP-AVAIL-001"} with input as one
}

test_dev_and_staging_may_run_one_replica if {
	every doc in [f.dev, f.staging] {
		single := object.union(doc, object.union({"model": {"serving": {"replicas": {"min": 1}}}}, _rendered([])))
		count(availability.deny) == 0 with input as single
	}
}

test_the_message_names_the_replica_count if {
	doc := object.union(f.prod, {"model": {"serving": {"replicas": {"min": 0}}}})
	some v in availability.deny with input as doc
	v.msg == "prod serving may run 0 replica(s); prod needs at least 2"
	v.path == "model.serving.replicas.min"
}
