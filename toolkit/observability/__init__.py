"""Observability of spbe itself: structured logs with the job in context, and Prometheus metrics.

Split so the light parts load everywhere: `config` (settings models, imported by `toolkit.settings`)
and `context` (the job's contextvars) depend on nothing heavy; `logs` needs python-json-logger only
in JSON mode, and `metrics` (prometheus-client) loads only when something records or serves a metric.
"""
