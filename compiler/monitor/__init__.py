"""`modelplane monitor run`: model-quality metrics (drift, accuracy, fairness) for Prometheus."""
