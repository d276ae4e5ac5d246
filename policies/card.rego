package modelplane.card

# Which model-card fields each policy profile requires.
required_fields := {
	"dev": ["summary"],
	"staging": ["intendedUse", "limitations", "summary", "trainingData"],
	"prod": [
		"ethicalConsiderations", "evaluationData", "intendedUse", "limitations",
		"metrics", "rollbackPlan", "summary", "trainingData",
	],
}

required := object.get(required_fields, input.environment.policyProfile, [])

_present(field) if {
	field == "metrics"
	count(object.get(input.model.card, "metrics", {})) > 0
}

_present(field) if {
	field != "metrics"
	value := object.get(input.model.card, field, null)
	is_string(value)
	trim_space(value) != ""
}

missing := sort([f | some f in required; not _present(f)])

_score := 100 if count(required) == 0

_score := floor(((count(required) - count(missing)) * 100) / count(required)) if count(required) > 0

completeness := {"score": _score, "required": sort(required), "missing": missing}

# METADATA
# title: Model card complete for prod
# description: Prod blocks until every field the prod profile requires is filled in.
# custom:
#   id: MP-CARD-001
#   severity: high
#   remediation: Fill in the missing card field in the model's YAML (card:).
deny contains v if {
	input.environment.policyProfile == "prod"
	some field in missing
	v := {
		"id": "MP-CARD-001",
		"msg": sprintf("model card field %s is missing (card %d%% complete for prod)", [field, _score]),
		"path": sprintf("model.card.%s", [field]),
	}
}

# METADATA
# title: Model card fields for staging
# description: Staging warns for each card field its profile requires that is still empty.
# custom:
#   id: MP-CARD-002
#   severity: low
#   remediation: Fill in the missing card field before promoting to prod.
warn contains v if {
	input.environment.policyProfile == "staging"
	some field in missing
	v := {
		"id": "MP-CARD-002",
		"msg": sprintf("model card field %s is missing", [field]),
		"path": sprintf("model.card.%s", [field]),
	}
}
