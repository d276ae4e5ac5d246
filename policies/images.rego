package modelplane.images

import data.modelplane_lib

_images contains [path, image] if {
	image := input.model.serving.image
	is_string(image)
	path := "model.serving.image"
}

_images contains [path, image] if {
	image := input.model.training.image
	is_string(image)
	path := "model.training.image"
}

_images contains [path, image] if {
	some step, spec in input.model.training.steps
	image := spec.image
	is_string(image)
	path := sprintf("model.training.steps.%s.image", [step])
}

_unpinned contains [path, image] if {
	some [path, image] in _images
	not modelplane_lib.pinned(image)
}

# METADATA
# title: Images pinned by digest in prod
# description: Prod runs images by sha256 digest, so what was reviewed is what runs.
# custom:
#   id: MP-IMG-001
#   severity: high
#   remediation: Replace the tag with the image's digest (image@sha256:...).
deny contains v if {
	modelplane_lib.is_prod
	some [path, image] in _unpinned
	v := {"id": "MP-IMG-001", "msg": sprintf("image %s is not pinned by digest", [image]), "path": path}
}

warn contains v if {
	input.environment.policyProfile == "staging"
	some [path, image] in _unpinned
	v := {"id": "MP-IMG-001", "msg": sprintf("image %s is not pinned by digest (prod will block)", [image]), "path": path}
}

# Images the compiler itself adds to what it renders (the pipeline's register step, ...): every
# image in the rendered objects that the spec does not name.
_spec_images := {image | some [_, image] in _images}

_added contains [object, image] if {
	some object in input.summary.objects
	some image in object.images
	not image in _spec_images
	not modelplane_lib.pinned(image)
}

# METADATA
# title: Images the compiler adds pinned by digest in prod
# description: Prod runs every image by digest, including the ones Modelplane adds to the rendered objects itself.
# custom:
#   id: MP-IMG-002
#   severity: high
#   remediation: Pin the image by digest in the compiler (or waive it for a time while a pinned release is prepared).
deny contains v if {
	modelplane_lib.is_prod
	some [object, image] in _added
	v := {
		"id": "MP-IMG-002",
		"msg": sprintf("%s %s runs image %s, added by the compiler and not pinned by digest", [object.kind, object.name, image]),
		"path": "model.training",
	}
}
