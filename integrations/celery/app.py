"""The Celery application: Redis as the broker, one queue per action family, the worker's job task.

Delivery settings follow from the store being in charge (toolkit.engine.distributed): ``acks_late`` (a
message is acknowledged only after its job ran, so a worker that dies mid-job leaves it to be redelivered)
and a prefetch of 1 (a worker holds no message it is not running: a slow job never strands others behind
it). No result backend: results go to the store and the ticket, never to Celery.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from toolkit.settings import Settings

TASK = "spbe.run_job"


def queue_name(family: str) -> str:
    return f"spbe.{family}"


def make_celery(settings: Settings) -> Celery:
    engine = settings.engine
    celery = Celery("spbe", set_as_current=False)
    conf: dict[str, Any] = {
        "broker_url": engine.broker.resolve().get_secret_value(),
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"visibility_timeout": engine.visibility_timeout_s},
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,  # a child killed mid-job: the message goes back, the lease decides
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "task_default_queue": queue_name("default"),
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
    }
    celery.conf.update(conf)
    return celery
