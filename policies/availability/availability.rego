package modelplane.availability

import data.modelplane_lib

# METADATA
# title: At least two serving replicas in prod
# description: With one replica, a node drain, an eviction or a crash takes a prod model offline.
# custom:
#   id: MP-AVAIL-001
#   severity: high
#   remediation: Set serving.replicas.min to 2 or more in the prod override, or file a waiver with the reason.
deny contains v if {
	modelplane_lib.is_prod
	min := object.get(input.model.serving, ["replicas", "min"], 1)
	min < 2
	v := {
		"id": "MP-AVAIL-001",
		"msg": sprintf("prod serving may run %d replica(s); prod needs at least 2", [min]),
		"path": "model.serving.replicas.min",
	}
}

# METADATA
# title: A PodDisruptionBudget for prod serving
# description: Without a PodDisruptionBudget a node drain may evict every serving pod at once.
# custom:
#   id: MP-AVAIL-002
#   severity: high
#   remediation: Run at least 2 replicas (the chart then renders a PodDisruptionBudget) and re-run compile.
deny contains v if {
	modelplane_lib.is_prod
	input.model.serving.backend == "kubernetes"
	input.summary.rendered
	not _has_pdb
	v := {
		"id": "MP-AVAIL-002",
		"msg": "prod serving has no PodDisruptionBudget in rendered/",
		"path": "model.serving.replicas",
	}
}

_has_pdb if {
	some obj in input.summary.objects
	obj.kind == "PodDisruptionBudget"
}
