"""Modelplane: declarative GitOps for ML models."""

__version__ = "0.1.0"
