"""``MetadataStore.workflow_overview``: the environment overview in three queries gives exactly
what the per-workflow queries give (newest version, newest runs, starts since)."""

from __future__ import annotations

from datatailr.store.metadata import open_metadata


def seeded(tmp_path):
    meta = open_metadata(f"sqlite:///{tmp_path / 'meta.db'}")
    with meta.write() as conn:
        ids = {slug: meta.ensure_workflow(conn, slug, env, slug.title())
               for slug, env in [("b-flow", "dev"), ("a-flow", "dev"), ("never-ran", "dev"),
                                 ("no-version", "dev")]}
        meta.ensure_workflow(conn, "a-flow", "prod", "A-Flow")  # no version: not listed
    with meta.write() as conn:
        for slug in ("b-flow", "a-flow", "never-ran"):
            for n in range(2 if slug == "b-flow" else 1):
                meta.add_version(conn, ids[slug], definition={"tasks": [], "n": n}, source="",
                                 code_key_for=lambda v: f"code/v{v}", code_hash="h",
                                 schedule={"cron": "0 * * * *"} if n else None,
                                 task_count=3 + n)
    base = 1_700_000_000.0
    for i in range(25):
        slug = ("b-flow", "a-flow")[i % 2]
        run_id = meta.create_run(workflow_id=ids[slug], job_version=1, trigger="manual",
                                 task_names=["t"])
        meta.update_run(run_id, state="completed" if i % 3 else "failed",
                        start_time=base + 3600 * i, end_time=base + 3600 * i + 5)
    return meta, base


def per_workflow(meta, environment, since, recent):
    out = []
    for row in meta.list_workflows(environment):
        version = meta.latest_version(row["workflow_id"])
        if version is None:
            continue
        out.append({**row, "version": {k: version[k] for k in (
            "job_version", "task_count", "schedule")},
            "recent_runs": meta.list_runs(row["workflow_id"], limit=recent),
            "started_since": sorted(meta.runs_started_since(row["workflow_id"], since))})
    return out


def test_the_overview_is_what_the_per_workflow_queries_give(tmp_path):
    meta, base = seeded(tmp_path)
    for since, recent in [(base + 3600 * 10, 10), (0.0, 3), (base * 2, 1), (base, 0)]:
        got = meta.workflow_overview("dev", since, recent=recent)
        for entry in got:
            entry["started_since"] = sorted(entry["started_since"])
        expected = per_workflow(meta, "dev", since, recent)
        assert got == expected
        assert [{k: type(v) for k, v in r.items()} for w in got for r in w["recent_runs"]] == [
            {k: type(v) for k, v in r.items()} for w in expected for r in w["recent_runs"]]
    dev = meta.workflow_overview("dev", base + 3600 * 10)
    assert [(w["slug"], w["version"]["job_version"], len(w["recent_runs"]),
             len(w["started_since"])) for w in dev] == [
        ("a-flow", 1, 10, 7), ("b-flow", 2, 10, 8), ("never-ran", 1, 0, 0)]
    assert dev[1]["version"] == {"job_version": 2, "task_count": 4,
                                 "schedule": {"cron": "0 * * * *"}}
    assert [r["run_id"] for r in dev[0]["recent_runs"]][:3] == [24, 22, 20]
    assert meta.workflow_overview("prod", 0.0) == []  # a-flow in prod has no version


def test_removed_workflows_and_versions_are_left_out(tmp_path):
    import time

    from datatailr.store.metadata import versions, workflows

    meta, base = seeded(tmp_path)
    ids = {w["slug"]: w["workflow_id"] for w in meta.list_workflows("dev")}
    with meta.write() as conn:  # `dt job rm b-flow -v 2` and `dt job rm never-ran`
        conn.execute(versions.update().where(versions.c.workflow_id == ids["b-flow"],
                                             versions.c.job_version == 2)
                     .values(removed_at=time.time()))
        conn.execute(workflows.update().where(workflows.c.workflow_id == ids["never-ran"])
                     .values(removed_at=time.time()))
    dev = meta.workflow_overview("dev", base + 3600 * 10)
    assert [(w["slug"], w["version"]) for w in dev] == [
        ("a-flow", {"job_version": 1, "task_count": 3, "schedule": None}),
        ("b-flow", {"job_version": 1, "task_count": 3, "schedule": None})]
