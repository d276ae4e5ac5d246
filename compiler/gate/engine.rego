# The Modelplane driver: evaluates every policy package under data.modelplane, at any depth, for a
# whole batch of inputs in one request. Query data.modelplane_engine with input
# {"packages": [["team", "freeze"], ...], "items": {key: document}}; the compiler lists the
# packages from the policy files, so a rule in a nested or the root package is never skipped.
package modelplane_engine

# What a package's deny or warn is: its JSON value and whether it is a set (the only shape the
# compiler accepts; anything else is an error at the rule's file and line).
_shape(value) := {"set": is_set(value), "type": type_name(value), "value": value}

# Empty sets are left out: most packages find nothing for most inputs, and the answer stays small.
_rules(path) := {level: _shape(value) |
	some level in ["deny", "warn"]
	value := _value(path, level)
	not _empty_set(value)
}

_empty_set(value) if {
	is_set(value)
	count(value) == 0
}

# A direct reference per depth, so OPA evaluates only that package's rule (the compiler refuses
# packages nested deeper than these).
_value(path, level) := data.modelplane[level] if count(path) == 0

_value(path, level) := data.modelplane[path[0]][level] if count(path) == 1

_value(path, level) := data.modelplane[path[0]][path[1]][level] if count(path) == 2

_value(path, level) := data.modelplane[path[0]][path[1]][path[2]][level] if count(path) == 3

_value(path, level) := data.modelplane[path[0]][path[1]][path[2]][path[3]][level] if count(path) == 4

_value(path, level) := data.modelplane[path[0]][path[1]][path[2]][path[3]][path[4]][level] if count(path) == 5

_evaluate(paths) := {concat(".", array.concat(["modelplane"], path)): rules |
	some path in paths
	rules := _rules(path)
	count(rules) > 0
}

default _card := null

_card := data.modelplane.card.completeness

results[key] := {"packages": packages, "card": card} if {
	paths := input.packages
	some key, item in input.items
	packages := _evaluate(paths) with input as item
	card := _card with input as item
}
