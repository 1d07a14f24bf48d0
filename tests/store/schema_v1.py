"""A store of schema version 1, as round 1's code made it (its DDL, read off such a database),
with a little history, for the migration tests."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

SCHEMA_V1 = """
CREATE TABLE meta (
    "key" VARCHAR(64) NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY ("key")
);
CREATE TABLE workflows (
    workflow_id INTEGER NOT NULL,
    slug VARCHAR(200) NOT NULL,
    environment VARCHAR(8) NOT NULL,
    name VARCHAR(400) NOT NULL,
    created_at FLOAT NOT NULL,
    PRIMARY KEY (workflow_id),
    CONSTRAINT uq_workflow_slug_env UNIQUE (slug, environment)
);
CREATE TABLE schedule_fires (
    workflow_id INTEGER NOT NULL,
    scheduled_time FLOAT NOT NULL,
    run_id INTEGER,
    PRIMARY KEY (workflow_id, scheduled_time)
);
CREATE TABLE versions (
    workflow_id INTEGER NOT NULL,
    job_version INTEGER NOT NULL,
    created_at FLOAT NOT NULL,
    definition TEXT NOT NULL,
    source TEXT NOT NULL,
    code_key VARCHAR(400) NOT NULL,
    code_hash VARCHAR(64) NOT NULL,
    schedule TEXT,
    task_count INTEGER NOT NULL,
    PRIMARY KEY (workflow_id, job_version),
    FOREIGN KEY(workflow_id) REFERENCES workflows (workflow_id)
);
CREATE TABLE runs (
    run_id INTEGER NOT NULL,
    workflow_id INTEGER NOT NULL,
    job_version INTEGER NOT NULL,
    state VARCHAR(16) NOT NULL,
    created_at FLOAT NOT NULL,
    start_time FLOAT,
    end_time FLOAT,
    original_run_id INTEGER,
    rerun_of INTEGER,
    "full" BOOLEAN NOT NULL,
    "trigger" VARCHAR(16) NOT NULL,
    scheduled_time FLOAT,
    pid INTEGER,
    host VARCHAR(200),
    error TEXT,
    stop_requested BOOLEAN NOT NULL,
    claimed_by VARCHAR(200),
    options TEXT,
    PRIMARY KEY (run_id),
    FOREIGN KEY(workflow_id) REFERENCES workflows (workflow_id)
);
CREATE INDEX ix_runs_workflow_start ON runs (workflow_id, start_time);
CREATE INDEX ix_runs_state ON runs (state);
CREATE INDEX ix_runs_workflow_run ON runs (workflow_id, run_id);
CREATE TABLE task_runs (
    run_id INTEGER NOT NULL,
    task_id INTEGER NOT NULL,
    name VARCHAR(400) NOT NULL,
    state VARCHAR(16) NOT NULL,
    start_time FLOAT,
    end_time FLOAT,
    attempts INTEGER NOT NULL,
    error TEXT,
    result_run_id INTEGER,
    result_task_id INTEGER,
    pid INTEGER,
    PRIMARY KEY (run_id, task_id),
    FOREIGN KEY(run_id) REFERENCES runs (run_id)
);
INSERT INTO meta VALUES ('schema_version', '1');
"""


def make_store(path: Path, runs: int) -> None:
    with sqlite3.connect(path) as raw:
        raw.executescript(SCHEMA_V1)
        now = time.time()
        raw.execute("INSERT INTO workflows VALUES (1, 'old', 'dev', 'old', ?)", (now,))
        raw.execute("INSERT INTO versions VALUES (1, 1, ?, '{\"tasks\": []}', '', "
                    "'code/dev/old/v1.pkl', 'x', NULL, 2)", (now,))
        for run_id in range(1, runs + 1):
            raw.execute("INSERT INTO runs (run_id, workflow_id, job_version, state, created_at, "
                        "start_time, end_time, \"full\", \"trigger\", stop_requested, options) "
                        "VALUES (?, 1, 1, 'completed', ?, ?, ?, 0, 'local', 0, '{}')",
                        (run_id, now, now, now))
            for task_id, name in enumerate(["a", "b"]):
                raw.execute("INSERT INTO task_runs (run_id, task_id, name, state, attempts) "
                            "VALUES (?, ?, ?, 'completed', 1)", (run_id, task_id, name))
