"""``contractsync demo`` empties its work folder between runs, and never a folder it did not make."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from contractsync.entrypoints.cli import app
from contractsync.entrypoints.story.command import MARKER, prepare_workdir

runner = CliRunner()


def test_a_folder_the_demo_did_not_make_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("years of work")

    result = runner.invoke(app, ["demo", "--workdir", str(tmp_path)])

    assert result.exit_code == 1
    assert "is not a demo folder" in result.output
    assert "--workdir" in result.output
    assert (tmp_path / "thesis.tex").read_text() == "years of work"


def test_the_demos_own_folder_is_emptied_for_the_next_run(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    prepare_workdir(folder)
    (folder / "hub.sqlite").write_text("last run")

    prepare_workdir(folder)

    assert sorted(p.name for p in folder.iterdir()) == [MARKER]
