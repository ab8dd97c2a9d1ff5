from avemo import cli


def test_jobs_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("AVEMO_JOBS", "3")
    assert cli.default_jobs() == 3
