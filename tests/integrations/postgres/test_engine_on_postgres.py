"""The engine-guarantee tests of tests/engine, collected again here where ``engine_settings`` puts the job queue
on PostgreSQL (this folder's conftest): the same assertions, not a copy. Those of them that start processes
carry their own ``slow`` mark; the rest run in the fast tier."""

from __future__ import annotations

from tests.engine.test_batch_finish import (
    test_a_batch_of_quick_jobs_is_recorded_in_one_transaction_then_advanced,
    test_a_batch_recorded_before_a_crash_is_not_run_again,
    test_a_batch_that_dies_before_its_commit_is_run_again_not_lost,
    test_a_job_that_may_not_run_twice_is_recorded_alone_the_moment_it_ends,
)
from tests.engine.test_batches import (
    test_a_batch_claimed_job_whose_worker_died_is_reclaimed_and_run_once,
    test_a_batch_runs_each_job_once_after_writing_every_start_entry,
)
from tests.engine.test_exactly_once import (
    test_same_approval_event_delivered_ten_times_creates_one_job,
    test_two_serve_processes_share_the_queue_without_running_anything_twice,
    test_two_workers_in_one_process_run_each_step_once,
)
from tests.engine.test_outbox_rounds import test_a_round_of_events_is_stored_in_order_and_once

__all__ = [
    "test_a_batch_claimed_job_whose_worker_died_is_reclaimed_and_run_once",
    "test_a_batch_of_quick_jobs_is_recorded_in_one_transaction_then_advanced",
    "test_a_batch_recorded_before_a_crash_is_not_run_again",
    "test_a_batch_runs_each_job_once_after_writing_every_start_entry",
    "test_a_batch_that_dies_before_its_commit_is_run_again_not_lost",
    "test_a_job_that_may_not_run_twice_is_recorded_alone_the_moment_it_ends",
    "test_a_round_of_events_is_stored_in_order_and_once",
    "test_same_approval_event_delivered_ten_times_creates_one_job",
    "test_two_serve_processes_share_the_queue_without_running_anything_twice",
    "test_two_workers_in_one_process_run_each_step_once",
]
