# The Modelplane driver: evaluates every policy package under data.modelplane, at any depth, for a
# whole batch of inputs in one request. Query data.modelplane_engine with input
# {"packages": [["team", "freeze"], ...], "items": {key: document}}; the compiler lists the
# packages from the policy files, so a rule in a nested or the root package is never skipped.
package modelplane_engine

# What a package's deny or warn is: its JSON value and whether it is a set (the only shape the
# compiler accepts; anything else is an error at the rule's file and line).
_shape(value) := {"set": is_set(value), "type": type_name(value), "value": value}

_rules(path) := {level: _shape(value) |
	some level in ["deny", "warn"]
	value := object.get(data.modelplane, array.concat(path, [level]), null)
	value != null
}

_evaluate(paths) := {concat(".", array.concat(["modelplane"], path)): rules |
	some path in paths
	rules := _rules(path)
}

default _card := null

_card := data.modelplane.card.completeness

results[key] := {"packages": packages, "card": card} if {
	paths := input.packages
	some key, item in input.items
	packages := _evaluate(paths) with input as item
	card := _card with input as item
}
