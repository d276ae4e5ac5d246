# A fully compliant input per profile; each test changes one thing with object.union.
package modelplane_fixtures

digest := concat("", ["@sha256:", concat("", [x | some _ in numbers.range(1, 64); x := "a"])])

base := {
	"model": {
		"metadata": {"name": "churn", "team": "growth-ds", "owners": ["@acme/growth-ds"]},
		"registry": {"name": "churn", "version": 7},
		"data": {
			"classification": ["pii"],
			"owner": "data-governance@acme.example",
			"encryption": {"atRest": true, "inTransit": true},
			"protectedAttributes": ["gender"],
		},
		"serving": {
			"backend": "kubernetes",
			"image": concat("", ["ghcr.io/acme/churn", digest]),
			"replicas": {"min": 2, "max": 4},
			"resources": {
				"requests": {"cpu": "500m", "memory": "1Gi"},
				"limits": {"cpu": "1", "memory": "2Gi"},
			},
			"rollout": {"strategy": "canary", "steps": [{"weight": 5}], "analysis": {"maxErrorRate": 0.01}},
			"env": {"LOG_LEVEL": "info"},
		},
		"training": {
			"image": concat("", ["ghcr.io/acme/churn-train", digest]),
			"steps": {
				"snapshot": {"command": ["snap"], "image": null},
				"train": {"command": ["train"], "image": null},
				"evaluate": {"command": ["eval"], "image": null},
			},
			"acceptance": {"metric": "auc", "min": 0.9},
			"spot": false,
			"resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": null, "memory": null}},
		},
		"monitoring": {
			"alertRoutes": {"pagerduty": "growth-oncall", "slack": "#growth"},
			"fairness": {"metric": "disparate_impact", "min": 0.8, "attributes": ["gender"]},
		},
		"card": {
			"summary": "s", "intendedUse": "u", "limitations": "l", "ethicalConsiderations": "e",
			"trainingData": "t", "evaluationData": "v", "rollbackPlan": "r", "metrics": {"auc": 0.9},
		},
	},
	"environment": {
		"name": "prod",
		"policyProfile": "prod",
		"limits": {
			"minAcceptance": 0.8,
			"allowSpotTraining": false,
			"budget": {"cpu": "64", "memory": "256Gi", "cpuMillicores": 64000, "memoryBytes": 274877906944},
		},
	},
	"registry": {"name": "churn", "version": 7, "found": true, "approved": true},
	"summary": {"maxCpuMillicores": 2000, "maxMemoryBytes": 4294967296, "objects": []},
}

staging := object.union(base, {"environment": {"name": "staging", "policyProfile": "staging", "limits": {"allowSpotTraining": true}}})

dev := object.union(base, {"environment": {"name": "dev", "policyProfile": "dev", "limits": {"allowSpotTraining": true, "budget": null}}})

prod := base

# The ids a rule set produced.
ids(results) := {v.id | some v in results}

# Every deny of every policy package, for the current input (policies/ needs nothing outside it).
denials contains v if {
	some pkg in data.modelplane
	some v in pkg.deny
}

test_fixture_passes_every_profile if {
	every doc in [prod, staging, dev] {
		count(denials) == 0 with input as doc
	}
}
