"""The `stopframe` command: every sub-command is listed here, each a thin function in its own
module (parse arguments, call the library, format the output)."""

from __future__ import annotations

import typer

from stopframe.cli import (
    bench,
    case,
    demo,
    hashing,
    images,
    intake,
    matcher,
    registry,
    scan,
    signal_types,
    triage,
    video,
)

app = typer.Typer(
    name="stopframe",
    help="Hash media locally, keep and share hash lists, match uploads and triage collections.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("hash")(hashing.hash_command)
app.command("demo")(demo.demo_command)
app.command("quickstart")(hashing.quickstart_command)
app.command("signals")(signal_types.signals_command)
app.command("match-images")(images.match_images_command)
app.command("hash-video")(video.hash_video_command)
app.command("match-video")(video.match_video_command)
app.command("serve")(registry.serve)
app.command("match")(matcher.match_command)
app.command("triage")(triage.triage_command)
app.command("scan")(scan.scan_command)
app.command("intake")(intake.intake_command)
app.add_typer(registry.registry_app, name="registry")
app.add_typer(matcher.matcher_app, name="matcher")
app.add_typer(bench.bench_app, name="bench")
app.add_typer(case.case_app, name="case")


def main() -> None:
    """Console-script entry point."""
    app()
