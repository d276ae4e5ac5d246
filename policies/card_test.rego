package modelplane.card_test

import data.modelplane.card
import data.modelplane_fixtures as f

test_complete_card_scores_100 if {
	card.completeness == {"score": 100, "required": card.required_fields.prod, "missing": []} with input as f.prod
	count(card.deny) == 0 with input as f.prod
}

test_missing_field_blocks_prod_with_its_path if {
	doc := object.union(f.prod, {"model": {"card": {"rollbackPlan": "  "}}})
	card.completeness.missing == ["rollbackPlan"] with input as doc
	card.completeness.score == 87 with input as doc
	{v.path | some v in card.deny} == {"model.card.rollbackPlan"} with input as doc
}

test_no_metrics_are_missing if {
	doc := object.union(f.prod, {"model": {"card": {"metrics": null}}})
	card.completeness.missing == ["metrics"] with input as doc
}

test_staging_warns_per_missing_field if {
	doc := object.union(f.staging, {"model": {"card": {"intendedUse": null, "summary": ""}}})
	f.ids(card.warn) == {"MP-CARD-002"} with input as doc
	count(card.warn) == 2 with input as doc
	count(card.deny) == 0 with input as doc
}

test_dev_needs_only_a_summary if {
	doc := object.union(f.dev, {"model": {"card": {"intendedUse": null, "limitations": null}}})
	card.completeness == {"score": 100, "required": ["summary"], "missing": []} with input as doc
}

test_unknown_profile_requires_nothing if {
	doc := object.union(f.prod, {"environment": {"policyProfile": "sandbox"}})
	card.completeness.score == 100 with input as doc
}
