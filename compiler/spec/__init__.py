"""The typed spec: pydantic models for `Model` and `Environment` documents."""

from compiler.spec.environment import Environment
from compiler.spec.model import Model

__all__ = ["Environment", "Model"]
