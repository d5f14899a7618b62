"""Schedule files are checked whole before anything runs: every mistake names the file,
the job and the field; templates are parsed, never evaluated."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from schedule_helpers import WriteSchedule, write_applications

from modelport.errors import BatchError
from modelport.schedule import (
    Backoff,
    check_template,
    format_duration,
    load_schedule,
    parse_duration,
    plan_files,
    render_template,
)

JOB = {
    "cron": "0 2 * * *",
    "model": "loan-approval@production",
    "input": "incoming/applications-{date:%Y-%m-%d}.parquet",
    "output": "scores/applications-{date:%Y-%m-%d}.parquet",
}
NIGHT = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def test_a_full_schedule_loads_with_its_defaults(write_schedule: WriteSchedule) -> None:
    path = write_schedule(
        {
            "nightly": {
                **JOB,
                "carry": ["id"],
                "retries": 3,
                "backoff": {"initial": "30s", "factor": 2, "max": "10m"},
                "timeout": "1h",
                "workers": 2,
            },
            "weekly": {**JOB, "cron": "0 3 * * 1"},
        },
        timezone="Europe/Paris",
        on_failure={"webhook": "https://hooks.example.com/x"},
    )
    schedule = load_schedule(path)
    nightly, weekly = schedule.jobs.values()
    assert (nightly.retries, nightly.timeout, nightly.workers) == (3, 3600.0, 2)
    assert nightly.backoff == Backoff(initial=30.0, factor=2.0, max=600.0)
    assert (weekly.retries, weekly.timeout, weekly.workers) == (0, None, None)
    assert schedule.directory == path.parent.resolve()
    assert schedule.zone == ZoneInfo("Europe/Paris")
    assert schedule.report_to(weekly).webhook == "https://hooks.example.com/x"  # type: ignore[union-attr]
    assert [j.name for j in schedule.select(["weekly"])] == ["weekly"]
    with pytest.raises(
        BatchError, match="no job 'monthly' in the schedule; it has nightly, weekly"
    ):
        schedule.select(["monthly"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cron": "every night"}, "job 'nightly': cron: 'every night' is not a cron expression"),
        ({"retries": -1}, "job 'nightly': retries: Input should be greater than or equal to 0"),
        ({"timeout": "soon"}, "job 'nightly': timeout: 'soon' is not a duration"),
        ({"timeout": 0}, "job 'nightly': timeout: a timeout must be longer than zero"),
        ({"backoff": {"initial": "5x"}}, "job 'nightly': backoff.initial: '5x' is not a duration"),
        ({"retry": 3}, "job 'nightly': retry: Extra inputs are not permitted"),
        ({"model": None}, "job 'nightly': model: Input should be a valid string"),
        ({"on_failure": {"webhook": "file:///etc/passwd"}}, "http:// or https:// URL"),
        ({"input": "in/*.csv"}, "is a glob, so each matching file is scored into its own output"),
        ({"input": "in/{stem}.csv"}, "{stem} is not a placeholder; use {date}, {job}"),
        ({"output": "out/{date.__class__}.csv"}, "{date.__class__} is not a placeholder"),
        ({"output": "out/{date.year}.csv"}, "{date.year} is not a placeholder"),
        ({"output": "out/{date[0]}.csv"}, "{date[0]} is not a placeholder"),
        ({"output": "out/{0}.csv"}, "{0} is not a placeholder"),
        ({"output": "out/{}.csv"}, "{} is not a placeholder"),
        ({"output": "out/{date!r}.csv"}, "conversions (!r, !s, !a) are not allowed"),
        ({"output": "out/{date:{job}}.csv"}, "a format spec cannot hold placeholders"),
        ({"output": "out/{job:>30}.csv"}, "only {date} takes a format"),
        ({"output": "out/{date.csv"}, "is not a valid template"),
    ],
)
def test_mistakes_name_the_job_and_the_field(
    write_schedule: WriteSchedule, change: dict[str, object], message: str
) -> None:
    path = write_schedule({"nightly": {**JOB, **change}})
    with pytest.raises(BatchError) as caught:
        load_schedule(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_file_level_mistakes(write_schedule: WriteSchedule, tmp_path: Path) -> None:
    with pytest.raises(BatchError, match="timezone: 'Mars/Olympus' is not a time zone"):
        load_schedule(write_schedule({"nightly": JOB}, timezone="Mars/Olympus"))
    with pytest.raises(BatchError, match="uses \\${NOT_SET_ANYWHERE}, which is not set"):
        load_schedule(
            write_schedule(
                {"nightly": JOB}, on_failure={"webhook": "https://h/${NOT_SET_ANYWHERE}"}
            )
        )
    with pytest.raises(BatchError, match="a mapping with `jobs:`"):
        (tmp_path / "empty.yaml").write_text("")
        load_schedule(tmp_path / "empty.yaml")
    with pytest.raises(BatchError, match="not valid YAML"):
        (tmp_path / "bad.yaml").write_text("jobs: [")
        load_schedule(tmp_path / "bad.yaml")
    with pytest.raises(BatchError, match="cannot read the schedule file"):
        load_schedule(tmp_path / "missing.yaml")
    with pytest.raises(BatchError, match="job 'bad name!': name: a job name is"):
        load_schedule(write_schedule({"bad name!": JOB}))


def test_environment_variables_fill_secrets(
    write_schedule: WriteSchedule, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_TOKEN", "s3cret")
    path = write_schedule({"nightly": JOB}, on_failure={"webhook": "https://h/x/${HOOK_TOKEN}"})
    assert load_schedule(path).on_failure.webhook == "https://h/x/s3cret"  # type: ignore[union-attr]


def test_a_secret_in_a_path_template_is_literal_text(
    write_schedule: WriteSchedule, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A password holding braces is neither a placeholder nor a broken template.
    monkeypatch.setenv("STORE_PASSWORD", "p{date}w}{")
    job = {**JOB, "input": "s3://reader:${STORE_PASSWORD}@bucket/in-{date:%Y%m%d}.csv"}
    loaded = load_schedule(write_schedule({"nightly": job})).jobs["nightly"]
    (task,) = plan_files(loaded, NIGHT, Path("."))
    assert task.input == "s3://reader:p{date}w}{@bucket/in-20260301.csv"


def test_templates_render_dates_and_refuse_code() -> None:
    template = "data/{job}/{date:%Y/%m/%d}/applications-{date}.csv"
    assert check_template(template) == {"job", "date"}
    rendered = render_template(template, NIGHT, {"job": "nightly"})
    assert rendered == "data/nightly/2026/03/01/applications-2026-03-01.csv"
    assert render_template("a-{{literal}}-{date:%H%M}", NIGHT, {}) == "a-{literal}-0200"
    for evil in ("{date.__class__.__mro__}", "{date.__init__.__globals__}", "{job.__len__}"):
        with pytest.raises(ValueError, match="is not a placeholder"):
            check_template(evil)


def test_durations_and_back_off() -> None:
    assert [parse_duration(v) for v in ("30s", "5m", "1h", "1d", "250ms", 12, "1.5")] == [
        30.0, 300.0, 3600.0, 86400.0, 0.25, 12.0, 1.5,
    ]  # fmt: skip
    for bad in ("-1s", "1 week", True, None, "nan"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    backoff = Backoff(initial=30.0, factor=2.0, max=600.0)
    assert [backoff.delay(n) for n in range(1, 8)] == [30, 60, 120, 240, 480, 600, 600]
    assert Backoff(initial=1.0, factor=100.0, max=5.0).delay(100) == 5.0
    assert [format_duration(s) for s in (0.1, 3.0, 90.0, 3600.0)] == ["100ms", "3s", "1m30s", "1h"]


def test_cron_times_in_the_schedules_zone(write_schedule: WriteSchedule) -> None:
    schedule = load_schedule(write_schedule({"nightly": JOB}, timezone="Europe/Paris"))
    job = schedule.jobs["nightly"]
    at = datetime(2026, 3, 1, 12, 0, tzinfo=schedule.zone)
    assert job.next_after(at) == datetime(2026, 3, 2, 2, 0, tzinfo=schedule.zone)
    assert job.latest_at_or_before(at) == datetime(2026, 3, 1, 2, 0, tzinfo=schedule.zone)
    exactly = datetime(2026, 3, 1, 2, 0, tzinfo=schedule.zone)
    assert job.latest_at_or_before(exactly) == exactly


def test_a_glob_scores_each_file_into_its_own_output(
    write_schedule: WriteSchedule, tmp_path: Path
) -> None:
    for part in ("a", "b"):
        write_applications(tmp_path / "in" / f"2026-03-01-{part}.csv", rows=10)
    write_applications(tmp_path / "in" / "2026-03-02-a.csv", rows=10)
    job = {
        **JOB,
        "input": "in/{date}-*.csv",
        "output": "out/{date:%Y%m%d}/{stem}.scores.parquet",
    }
    schedule = load_schedule(write_schedule({"parts": job}))
    tasks = plan_files(schedule.jobs["parts"], NIGHT, schedule.directory)
    root = schedule.directory
    assert [(t.input, t.output, t.rejects) for t in tasks] == [
        (
            str(root / "in/2026-03-01-a.csv"),
            root / "out/20260301/2026-03-01-a.scores.parquet",
            None,
        ),
        (
            str(root / "in/2026-03-01-b.csv"),
            root / "out/20260301/2026-03-01-b.scores.parquet",
            None,
        ),
    ]
    with pytest.raises(BatchError, match="no file matches .*in/2026-03-03-\\*.csv"):
        plan_files(schedule.jobs["parts"], datetime(2026, 3, 3, tzinfo=UTC), root)
    plain = load_schedule(write_schedule({"one": JOB})).jobs["one"]
    with pytest.raises(BatchError, match="applications-2026-03-01.parquet of job one does not"):
        plan_files(plain, NIGHT, root)


def test_the_schedule_package_exports_what_it_lists() -> None:
    import modelport.schedule as schedule

    assert all(hasattr(schedule, name) for name in schedule.__all__)


def test_outputs_behind_urls_stay_urls(write_schedule: WriteSchedule, tmp_path: Path) -> None:
    write_applications(tmp_path / "in" / "2026-03-01.csv", rows=10)
    job = {
        **JOB,
        "input": "in/{date}.csv",
        "output": "s3://lake/scores/{date:%Y%m%d}.parquet",
        "rejects": "s3://lake/rejects/{date:%Y%m%d}.jsonl",
    }
    schedule = load_schedule(write_schedule({"lake": job}))
    [task] = plan_files(schedule.jobs["lake"], NIGHT, schedule.directory)
    assert task.output == "s3://lake/scores/20260301.parquet"
    assert task.rejects == "s3://lake/rejects/20260301.jsonl"
