# Modelplane: `make demo` and `make test` do all set-up first (.ci/bootstrap, idempotent).
SHELL := /bin/bash
TOOLS := $(CURDIR)/.tools/bin
VENV := $(CURDIR)/.venv/bin
export PATH := $(TOOLS):$(PATH)
export MODELPLANE_TOOLS := $(TOOLS)
CRDS ?= $(abspath $(CURDIR)/../shared/reference/crds)

.PHONY: setup demo test lint policy-test actionlint pytest render verify bench clean

setup:
	@bash .ci/bootstrap

demo: setup
	$(VENV)/modelplane demo $(if $(wildcard $(CRDS)),--crds $(CRDS))

test: setup lint policy-test actionlint pytest

lint:
	$(VENV)/ruff check compiler tests bench
	@# mypy reads the package under its import name, `modelplane`, through a link to compiler/.
	@mkdir -p .tools/mypy-path && ln -sfn $(CURDIR)/compiler .tools/mypy-path/modelplane
	MYPYPATH=.tools/mypy-path $(VENV)/mypy -p modelplane
	$(VENV)/modelplane schemas --check

policy-test: ENGINE := compiler/gate/engine.rego compiler/gate/engine_test.rego
policy-test: CAPABILITIES := compiler/gate/capabilities.json
policy-test:
	@test -n "$$(find policies -name '*.rego' ! -name '*_test.rego')" || { echo "policy-test: no policies in policies/"; exit 1; }
	@unformatted=$$(opa fmt --list policies $(ENGINE)); \
	  if [ -n "$$unformatted" ]; then echo "policy-test: not formatted (run opa fmt -w): $$unformatted"; exit 1; fi
	@# The sandbox's capabilities: a policy calling http.send, opa.runtime, net.*, rand.*, uuid.* or time.now_ns fails here too.
	opa check --strict --capabilities $(CAPABILITIES) policies $(ENGINE)
	opa test --capabilities $(CAPABILITIES) policies $(ENGINE) --coverage --threshold 90 --format json > .tools/opa-coverage.json || \
	  { opa test --capabilities $(CAPABILITIES) policies $(ENGINE) -v | tail -40; $(VENV)/python -c "import json; print('coverage:', json.load(open('.tools/opa-coverage.json')).get('coverage'))"; exit 1; }
	@$(VENV)/python -c "import json; print('opa test: policy coverage %.1f%%' % json.load(open('.tools/opa-coverage.json'))['coverage'])"
	@# policies/ stands on its own, as a config repository that copies it runs it.
	opa test --capabilities $(CAPABILITIES) policies

actionlint:
	actionlint .github/workflows/*.yml

pytest:
	$(VENV)/python -m pytest -q

# Compile rendered/, then record the gate's decision per (model, environment) beside it (decisions.json).
render: setup
	$(VENV)/modelplane compile $(if $(wildcard $(CRDS)),--crds $(CRDS))
	$(VENV)/modelplane check --record

# Server-side dry-run of rendered/ against a cluster (never applies): make verify KUBECONFIG=… [ENV=staging]
verify: setup
	$(VENV)/modelplane verify $(if $(ENV),--env $(ENV)) $(if $(CONTEXT),--context $(CONTEXT))

bench: setup
	$(VENV)/python bench/run.py

clean:
	rm -rf .venv .tools .modelplane .pytest_cache .mypy_cache .ruff_cache
