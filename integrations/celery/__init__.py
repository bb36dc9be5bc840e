"""Celery (with Redis as the broker) as the distributed engine: see toolkit.engine.distributed."""
