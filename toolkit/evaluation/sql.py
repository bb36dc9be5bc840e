# ruff: noqa: S608 - every statement is built from the constant fragments of this module; values are bound
"""The evaluation's SQL for SQLite (`toolkit.evaluation.queries.SqliteEvaluationStore`), statement by statement.

Everything is computed by the store: the tickets of the period become a small temporary table (``ev_t``), one
pass over their events (the ``events_ticket`` index) finds what each ticket's outcome, closing time and SLA
variant are (``ev_x``), deferrals are paired with window functions (``LEAD``), and the figures are GROUP BYs
over those. Only the aggregates (a few rows per service) come back to Python.

**Percentiles** are computed here too, by nearest rank: the rank ``ceil(p * n)`` (integer arithmetic: ``(n + 1) / 2``
for the median, ``(9 * n + 9) / 10`` for p90) of the durations sorted by the store (``INSERT ... ORDER BY`` into a
temporary table whose rowids follow the sort, then a rowid lookup per percentile, the positional equivalent of
``ORDER BY ... LIMIT 1 OFFSET rank - 1`` for every service at once; `nearest_rank`). Why not fetch the ordered
duration column into Python: 100 000 floats would cross the boundary for two numbers per service. Why nearest
rank: it is an observed duration, and PostgreSQL gives the same one (``percentile_disc``, or ``row_number()``),
where an interpolating percentile would differ between stores.

**Working time** (*hari kerja*, *jam kerja*) uses the calendar rows of `toolkit.evaluation.facts`
(``ev_cal``: each working day's opening, closing and the office seconds before it): an instant's office-time
position is one indexed lookup, and the deadlines are `WorkCalendar.deadline`'s arithmetic. Times are epoch
seconds rounded to the millisecond (whole-second instants stay exact through ``julianday``).
"""

from __future__ import annotations

COMPLETING = "('step_completed', 'approved', 'checked')"  # toolkit.domain.policy.COMPLETING_KINDS


def epoch(column: str) -> str:
    return f"round((julianday({column}) - 2440587.5) * 86400.0, 3)"


def position(zone: str, x: str) -> str:
    """Office seconds (of ``zone``'s calendar) before instant ``x``."""
    return (f"(SELECT CASE WHEN {x} < c.opens THEN c.cum ELSE c.cum + ({x} - c.opens) END FROM ev_cal c "
            f"WHERE c.zone = {zone} AND c.closes > {x} ORDER BY c.closes LIMIT 1)")


def add_working_days(zone: str, x: str, days: str) -> str:
    """`WorkCalendar.add_working_days`: the clock starts at the first working moment at or after ``x`` and ends
    at the same time of day ``days`` working days later, clamped into that day's office hours."""
    return (f"(SELECT min(max(d.midnight + (max(r.opens, {x}) - r.midnight), d.opens), d.closes) "
            f"FROM ev_cal r JOIN ev_cal d ON d.zone = r.zone AND d.n = r.n + {days} "
            f"WHERE r.zone = {zone} AND r.closes > {x} ORDER BY r.closes LIMIT 1)")


def add_working_time(zone: str, x: str, seconds: str) -> str:
    """`WorkCalendar.add_working_time`: the instant whose office-time position is ``seconds`` after ``x``'s."""
    target = f"({position(zone, x)} + {seconds})"
    return (f"(SELECT k.opens + ({target} - k.cum) FROM ev_cal k WHERE k.zone = {zone} "
            f"AND k.cum + (k.closes - k.opens) >= {target} ORDER BY k.cum LIMIT 1)")


def deadline(zone: str, start: str, seconds: str, unit: str) -> str:
    return (f"(CASE {unit} WHEN 'kalender' THEN {start} + {seconds} "
            f"WHEN 'hari-kerja' THEN {add_working_days(zone, start, f'CAST({seconds} / 86400 AS INTEGER)')} "
            f"ELSE {add_working_time(zone, start, seconds)} END)")


FACT_TABLES = (
    "CREATE TEMP TABLE ev_services (service_id TEXT PRIMARY KEY, zone TEXT NOT NULL, closing_step TEXT, "
    "timed INTEGER NOT NULL)",
    "CREATE TEMP TABLE ev_steps (service_id TEXT, step_id TEXT, role TEXT, standard_s REAL, unit TEXT, "
    "closing INTEGER, position INTEGER, staff INTEGER, PRIMARY KEY (service_id, step_id))",
    "CREATE TEMP TABLE ev_variants (service_id TEXT, variant_id TEXT, duration_s REAL, unit TEXT, "
    "PRIMARY KEY (service_id, variant_id))",
    "CREATE TEMP TABLE ev_cal (zone TEXT, n INTEGER, midnight REAL, opens REAL, closes REAL, cum REAL, "
    "PRIMARY KEY (zone, n))",
    "CREATE INDEX temp.ev_cal_closes ON ev_cal (zone, closes)",
    "CREATE INDEX temp.ev_cal_cum ON ev_cal (zone, cum)",
)

# The cohort: the period's tickets of the evaluated services (:start, :end are UTC ISO texts, as stored), keyed
# by id without a rowid, so a scan of it is in id order and the per-ticket GROUP BYs below need no sorter.
COHORT = (
    "CREATE TEMP TABLE ev_t (id TEXT PRIMARY KEY, service_id TEXT, status TEXT, opened_variant TEXT, created REAL) "
    "WITHOUT ROWID",
    "INSERT INTO ev_t SELECT t.id, t.service_id, t.status, t.sla_variant, "
    f"{epoch('t.created_at')} FROM main.tickets t WHERE t.created_at >= :start AND t.created_at < :end "
    "AND t.service_id IN (SELECT service_id FROM ev_services)",
)

# One pass over the cohort's events: the last move to closed, whether the closing step was completed, the last
# decision recording an SLA variant (`toolkit.domain.decisions.effective_sla_variant`: else the ticket's own),
# whether it was ever deferred, and its escalations by kind.
PASS = ("CREATE TEMP TABLE ev_x AS SELECT t.id, "
        "max(CASE WHEN e.kind = 'status' AND instr(e.data, 'closed') AND json_extract(e.data, '$.to') = 'closed' "
        "THEN e.at END) AS closed_at, "
        f"max(CASE WHEN e.step_id = v.closing_step AND e.kind IN {COMPLETING} THEN 1 ELSE 0 END) AS done, "
        "max(CASE WHEN instr(e.data, '\"decisions\"') AND json_extract(e.data, '$.decisions') IS NOT NULL "
        "AND json_type(e.data, '$.sla_variant') = 'text' THEN e.seq END) AS variant_seq, "
        "max(e.kind = 'status' AND instr(e.data, 'deferred') AND json_extract(e.data, '$.to') = 'deferred') "
        "AS deferred, "
        "sum(e.kind = 'escalated' AND json_extract(e.data, '$.kind') = 'step_late') AS step_late, "
        "sum(e.kind = 'escalated' AND json_extract(e.data, '$.kind') = 'sla_breached') AS sla_breached "
        "FROM ev_t t CROSS JOIN ev_services v CROSS JOIN main.events e "
        "WHERE v.service_id = t.service_id AND e.ticket_id = t.id GROUP BY t.id")

# Deferrals (of the tickets ever deferred): from each move to 'deferred' to the next status event, or :now.
PAUSES = ("CREATE TEMP TABLE ev_p AS SELECT ticket_id, service_id, s, coalesce(nxt, :now_s) AS e FROM ("
          f"SELECT e.ticket_id, t.service_id, {epoch('e.at')} AS s, json_extract(e.data, '$.to') AS to_state, "
          f"lead({epoch('e.at')}) OVER (PARTITION BY e.ticket_id ORDER BY e.seq) AS nxt "
          "FROM ev_x x CROSS JOIN ev_t t CROSS JOIN main.events e "
          "WHERE x.deferred = 1 AND t.id = x.id AND e.ticket_id = x.id AND e.kind = 'status') "
          "WHERE to_state = 'deferred'")

PAUSED = ("CREATE TEMP TABLE ev_pp AS SELECT p.ticket_id, sum(p.e - p.s) AS paused, "
          f"sum({position('v.zone', 'p.e')} - {position('v.zone', 'p.s')}) AS office_paused "
          "FROM ev_p p JOIN ev_services v ON v.service_id = p.service_id GROUP BY p.ticket_id")

RESOLVED = ("CREATE TEMP TABLE ev_r AS SELECT r.*, sv.unit, sv.duration_s, NULL AS deadline FROM ("
            "SELECT t.id, t.service_id, t.status, t.created, coalesce(x.done, 0) AS done, "
            f"{epoch('x.closed_at')} AS closed, "
            "coalesce((SELECT json_extract(c.data, '$.sla_variant') FROM main.events c WHERE c.seq = x.variant_seq), "
            "t.opened_variant) AS variant, coalesce(pp.paused, 0) AS paused, "
            "coalesce(pp.office_paused, 0) AS office_paused, v.zone "
            "FROM ev_t t LEFT JOIN ev_x x ON x.id = t.id LEFT JOIN ev_pp pp ON pp.ticket_id = t.id "
            "JOIN ev_services v ON v.service_id = t.service_id) r "
            "LEFT JOIN ev_variants sv ON sv.service_id = r.service_id AND sv.variant_id = r.variant")

# The SLA deadline (`toolkit.domain.workflow.evaluate`): calendar time adds the time deferred; a working-time
# clock runs from opening and then moves by the office time spent deferred.
DEADLINES = (
    "UPDATE ev_r SET deadline = created + duration_s + paused WHERE unit = 'kalender'",
    f"UPDATE ev_r SET deadline = {deadline('ev_r.zone', 'ev_r.created', 'ev_r.duration_s', 'ev_r.unit')} "
    "WHERE unit IS NOT NULL AND unit != 'kalender'",
    f"UPDATE ev_r SET deadline = {add_working_time('ev_r.zone', 'ev_r.deadline', 'ev_r.office_paused')} "
    "WHERE unit IS NOT NULL AND unit != 'kalender' AND office_paused > 0",
)

OUTCOMES = ("SELECT service_id, count(*) AS total, "
            "sum(status = 'closed' AND done = 1) AS done, sum(status = 'closed' AND done = 0) AS rejected, "
            "sum(status = 'deferred') AS deferred, sum(status IN ('open', 'in_progress')) AS open "
            "FROM ev_r GROUP BY service_id")

SLA = ("SELECT service_id, variant AS variant_id, sum(status = 'closed' AND done = 1) AS done, "
       "sum(status = 'closed' AND done = 1 AND closed <= deadline) AS within, "
       "sum((status = 'closed' AND done = 1 AND closed > deadline) "
       "OR (status IN ('open', 'in_progress') AND :now_s > deadline)) AS breached "
       "FROM ev_r WHERE deadline IS NOT NULL GROUP BY service_id, variant")


def nearest_rank(table: str, source: str, key: str, value: str) -> tuple[str, str, str]:
    """Count, median and p90 (nearest rank) of ``value`` per ``key`` over the rows of ``source``: the values are
    written sorted into ``table`` (rowids follow the sort), so each percentile is one rowid lookup at
    ``first + rank - 1`` (a window function's machinery cost twice the sort itself: 0.5 against 0.2 CPU-s for a
    year of 100 000 tickets). Returns the statements: create, fill, select."""
    return (f"CREATE TEMP TABLE {table} (i INTEGER PRIMARY KEY, k, v)",
            f"INSERT INTO {table} (k, v) SELECT {key}, {value} FROM {source} ORDER BY 1, 2",
            f"SELECT g.k, g.n, (SELECT v FROM {table} WHERE i = g.lo + (g.n + 1) / 2 - 1) AS median, "
            f"(SELECT v FROM {table} WHERE i = g.lo + (9 * g.n + 9) / 10 - 1) AS p90 "
            f"FROM (SELECT k, min(i) AS lo, count(*) AS n FROM {table} GROUP BY k) g")


DURATIONS = nearest_rank("ev_dur", "ev_r WHERE status = 'closed' AND done = 1 AND closed IS NOT NULL",
                         "service_id", "closed - created - paused")

# Step completions of the services whose SOP gives standard times (``timed``): the first completion of each step
# (the opening completes the first step), its start the completion before it on the ticket
# (`toolkit.domain.workflow.evaluate` counts a step from the previous done one). Times compared as stored text
# (same format, so text order is time order) and turned into seconds once per step, not once per event.
STEPS_DONE = (
    "CREATE TEMP TABLE ev_c (ticket_id TEXT, step_id TEXT, service_id TEXT, at REAL, position INTEGER, "
    "standard_s REAL, unit TEXT, zone TEXT, PRIMARY KEY (ticket_id, step_id)) WITHOUT ROWID",
    # An upsert keeps each step's first completion: no sorter over every completion of the year.
    f"INSERT INTO ev_c SELECT e.ticket_id, e.step_id, t.service_id, {epoch('e.at')}, s.position, s.standard_s, "
    "s.unit, v.zone FROM ev_t t CROSS JOIN ev_services v CROSS JOIN main.events e CROSS JOIN ev_steps s "
    f"WHERE v.service_id = t.service_id AND v.timed = 1 AND e.ticket_id = t.id AND e.kind IN {COMPLETING} "
    "AND s.service_id = t.service_id AND s.step_id = e.step_id AND s.position > 0 "
    "ON CONFLICT DO UPDATE SET at = min(at, excluded.at)",
)
STEPS_FIRST = ("INSERT INTO ev_c (ticket_id, step_id, service_id, at, position, standard_s, unit, zone) "
               "SELECT t.id, s.step_id, t.service_id, t.created, 0, s.standard_s, s.unit, v.zone FROM ev_t t "
               "JOIN ev_services v ON v.service_id = t.service_id AND v.timed = 1 "
               "JOIN ev_steps s ON s.service_id = t.service_id AND s.position = 0")
STEPS_TIMED = ("CREATE TEMP TABLE ev_w AS SELECT * FROM (SELECT c.service_id, c.step_id, c.at, c.standard_s, c.unit, "
               "c.zone, lag(c.at) OVER (PARTITION BY c.ticket_id ORDER BY c.at, c.position) AS started FROM ev_c c) "
               "WHERE standard_s IS NOT NULL AND started IS NOT NULL")
STEPS = (f"SELECT service_id, step_id, count(*) AS measured, "
         f"sum(w.at > {deadline('w.zone', 'w.started', 'w.standard_s', 'w.unit')}) AS late, "
         "max(standard_s) AS standard_s, max(unit) AS unit FROM ev_w w GROUP BY service_id, step_id")
STEP_MEDIANS = nearest_rank("ev_sdur", "ev_w", "service_id || '/' || step_id", "at - started")

ESCALATIONS = ("SELECT t.service_id, sum(x.step_late) AS step_late, sum(x.sla_breached) AS sla_breached "
               "FROM ev_x x JOIN ev_t t ON t.id = x.id GROUP BY t.service_id")
CLAIMS = ("SELECT t.service_id, count(*) AS claims, count(c.notified_at) AS delivered "
          "FROM st.escalations c JOIN ev_t t ON t.id = c.ticket_id GROUP BY t.service_id")

# Workload of the service's people: completions per (service, actor, role), the engine's own (automated steps,
# :engine) and the applicant's own steps (``staff`` = 0) left out,
# counted by upsert into a table of a few hundred rows instead
# of sorting a year's completions (a GROUP BY over 1.2 million rows cost 3.5 CPU-s at 100 000 tickets); the
# events arrive ticket by ticket (the CROSS JOINs fix the loop order), so a ticket counts once per key when it
# differs from the key's last one.
WORKLOAD = (
    "CREATE TEMP TABLE ev_wl (service_id TEXT, actor TEXT, role TEXT, steps INTEGER, tickets INTEGER, last TEXT, "
    "PRIMARY KEY (service_id, actor, role)) WITHOUT ROWID",
    "INSERT INTO ev_wl SELECT t.service_id, e.actor, s.role, 1, 1, t.id "
    "FROM ev_t t CROSS JOIN main.events e CROSS JOIN ev_steps s "
    f"WHERE e.ticket_id = t.id AND e.kind IN {COMPLETING} AND e.actor != :engine AND s.service_id = t.service_id "
    "AND s.step_id = e.step_id AND s.staff = 1 ORDER BY t.id "
    "ON CONFLICT DO UPDATE SET steps = steps + 1, tickets = tickets + (excluded.last != last), last = excluded.last",
)
WORKLOAD_ROWS = "SELECT service_id, actor, role, steps, tickets FROM ev_wl"

# Complaints: tickets of the catalog's complaint service (:complaints) created in the period, by the service they
# concern (the field :related names), answered when its answer step (:answer) was completed.
COMPLAINTS = ("CREATE TEMP TABLE ev_k AS SELECT t.id, t.status, "
              "coalesce(json_extract(t.fields, :related), '') AS about, "
              f"{epoch('t.created_at')} AS created, (SELECT min({epoch('e.at')}) FROM main.events e "
              "WHERE e.ticket_id = t.id AND e.kind = 'step_completed' AND e.step_id = :answer) AS answered "
              "FROM main.tickets t WHERE t.service_id = :complaints "
              "AND t.created_at >= :start AND t.created_at < :end")
COMPLAINT_COUNTS = ("SELECT about, count(*) AS total, sum(status = 'open') AS open, "
                    "sum(status = 'in_progress') AS in_progress, sum(status = 'deferred') AS deferred, "
                    "sum(status = 'closed') AS closed, count(answered) AS answered FROM ev_k GROUP BY about")
COMPLAINT_TIMES = nearest_rank("ev_kdur", "ev_k WHERE answered IS NOT NULL", "about", "answered - created")
