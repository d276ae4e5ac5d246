"""The policy gate: build OPA inputs, evaluate them on a real OPA server, map results to YAML lines."""
