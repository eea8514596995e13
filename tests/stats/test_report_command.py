"""`safeshare report --from --to`: the board-paper table."""

from __future__ import annotations

from typer.testing import CliRunner

from app.cli import cli


def run(db_url, *args, min_cell="3"):
    env = {"SAFESHARE_DATABASE_URL": db_url, "SAFESHARE_MIN_CELL": min_cell, "SAFESHARE_LOG_LEVEL": "WARNING"}
    return CliRunner().invoke(cli, ["report", *args], env=env)


def test_report_prints_each_default_theme_in_order_and_the_total(db_url, hand_made):
    result = run(db_url, "--from", "2024-01", "--to", "2024-03")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Concerns raised, by theme: 2024-01 to 2024-03"
    body = [line for line in lines[4:] if line and not line.startswith(("-", "*", "  number"))]
    names = [line.rsplit("  ", 1)[0].strip() for line in body]
    assert names[:14] == [
        "Domestic abuse", "Allegations of misconduct", "Financial concern", "Mental health",
        "Concerns about a line manager", "Bullying in the workplace", "Substance misuse", "Promotion process",
        "Concerns linked to industrial action", "Gambling", "Matrimonial", "Misogyny", "Homophobia", "Other",
    ]
    values = dict((line.rsplit("  ", 1)[0].strip(), line.rsplit(" ", 1)[1]) for line in body)
    assert values["Concerns about a line manager"] == "15"
    assert values["Domestic abuse"] == "7"
    assert values["Gambling"] == "withheld*"
    assert values["Financial concern"] == "0"
    assert values["Total"] == "50"
    assert values["of which not yet triaged"] == "withheld*"
    assert "* Withheld: fewer than 3 contacts" in result.output
    # Aligned: every number ends in the same column.
    assert len({len(line) for line in body}) == 1


def test_report_with_min_cell_one_shows_everything(db_url, hand_made):
    result = run(db_url, "--from", "2024-01", "--to", "2024-03", min_cell="1")
    assert result.exit_code == 0, result.output
    assert "withheld" not in result.output
    assert any(line.startswith("Domestic abuse") and line.endswith(" 7") for line in result.output.splitlines())


def test_report_rejects_a_bad_month(db_url):
    result = run(db_url, "--from", "2024-1")
    assert result.exit_code != 0
    assert "from must be a month written YYYY-MM" in result.output
