# Shared helpers for Modelplane policies (no deny/warn here: helpers live outside modelplane.*).
package modelplane_lib

profile := input.environment.policyProfile

is_prod if profile == "prod"

# staging and prod hold the line; dev only warns.
is_strict if profile in {"staging", "prod"}

# A key that is absent or null.
unset(obj, key) if object.get(obj, key, null) == null

# A key that is absent, null, or only whitespace: "" and " " name nobody.
blank(obj, key) if unset(obj, key)

blank(obj, key) if trim_space(object.get(obj, key, "")) == ""

pinned(image) if regex.match(`@sha256:[a-f0-9]{64}$`, image)
