"""The typed spec: pydantic models for `Model` and `Environment` documents."""

from modelplane.spec.environment import Environment
from modelplane.spec.model import Model

__all__ = ["Environment", "Model"]
