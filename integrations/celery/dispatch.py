"""Publishing a job's message (the `Dispatcher` of toolkit.engine.distributed) through Celery.

The message carries the job id only. It is sent without kombu's publish retries and with one connection
attempt, so a broker that is down costs the enqueueing process (an approval, say) a failed attempt, not a
stall: the job is already in the store and the trigger's sweep publishes it again.
"""

from __future__ import annotations

import threading

from integrations.celery.app import TASK, make_celery, queue_name
from toolkit.adapter_options import AdapterOptions
from toolkit.settings import Settings


class CeleryDispatcher:
    # No options of its own: everything it needs is `settings.engine` (the broker a SecretRef), which the
    # settings' own secret walk covers (tests/toolkit/test_settings_secrets.py).
    Options = AdapterOptions

    def __init__(self, *, settings: Settings) -> None:
        self._celery = make_celery(settings)
        # Without these, kombu retries the *connection* before a publish (its transport defaults) for ~6 s, so
        # an approval made while the broker is down waited that long; one quick attempt is enough here.
        self._celery.conf.broker_transport_options = {**self._celery.conf.broker_transport_options,
                                                      "max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                                                      "interval_max": 0.2}
        self._celery.conf.broker_connection_timeout = 2.0
        self._lock = threading.Lock()  # kombu's producer pool is per app; one publisher at a time is plenty

    def publish(self, job_id: int, family: str, countdown: float = 0.0) -> None:
        with self._lock:
            self._celery.send_task(TASK, args=[int(job_id)], queue=queue_name(family),
                                   countdown=countdown or None, retry=False)

    def close(self) -> None:
        self._celery.close()
