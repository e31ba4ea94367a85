"""``boxoffice import customers`` and ``boxoffice export customers`` (docs/import-export.md)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import IO, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from boxoffice.cli.errors import CliError
from boxoffice.services import bulk as bulk_service
from boxoffice.services.core import Core

import_app = typer.Typer(help="Import records from files.", no_args_is_help=True)
export_app = typer.Typer(help="Export records to files.", no_args_is_help=True)
err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
    app.add_typer(export_app, name="export")


def _fail(message: str) -> CliError:
    return CliError(message)


def _rejects_path(file: Path, fmt: str) -> Path:
    if str(file) == "-":
        return Path(f"stdin.rejects.{fmt}")
    suffix = ".csv" if fmt == "csv" else ".jsonl"
    return file.with_name(f"{file.stem}.rejects{suffix}")


@import_app.command("customers")
def import_customers(
    tenant: str,
    file: Annotated[Path, typer.Argument(help="A .csv or .jsonl file; - reads standard input.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or jsonl (default: by extension).")
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option("--rejects", help="Reject file (default: FILE.rejects.csv beside FILE)."),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=bulk_service.MAX_BATCH_SIZE)
    ] = bulk_service.DEFAULT_BATCH_SIZE,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Create or update customers from CSV or JSON Lines; safe to run again."""
    from boxoffice.cli.main import _run

    try:
        fmt = bulk_service.format_of(str(file), fmt) if str(file) != "-" else (fmt or "")
    except bulk_service.ImportFileError as exc:
        raise _fail(str(exc)) from exc
    if fmt not in bulk_service.FORMATS:
        raise _fail("reading standard input needs --format csv or --format jsonl")
    stream: IO[bytes]
    if str(file) == "-":
        stream, total = sys.stdin.buffer, None
    else:
        try:
            stream, total = file.open("rb"), file.stat().st_size
        except OSError as exc:
            raise _fail(f"cannot read {file}: {exc.strerror}") from exc
    rejects_path = rejects or _rejects_path(file, fmt)
    rejects_path.unlink(missing_ok=True)  # a reject file describes the latest run only
    source = bulk_service.Source(stream, fmt)
    writer = bulk_service.RejectWriter(rejects_path, fmt, lambda: source.header)
    progress = Progress(
        TextColumn("importing"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
    )
    task = progress.add_task("import", total=total, counts="")

    def report(summary: bulk_service.ImportSummary, position: int) -> None:
        counts = (
            f"{summary.records} records: {summary.created} created, {summary.updated} updated, "
            f"{summary.unchanged} unchanged, {summary.rejected} rejected"
        )
        progress.update(task, completed=position, counts=counts)

    async def work(core: Core) -> bulk_service.ImportSummary:
        return await bulk_service.import_customers(
            core, tenant, source, writer, batch_size=batch_size, progress=report
        )

    try:
        with progress:
            summary = _run(work)
    finally:
        writer.close()
        stream.close()
    summary.rejects_path = str(rejects_path) if writer.count else None
    if as_json:
        sys.stdout.write(json.dumps(summary.as_dict()) + "\n")
    else:
        err.print(
            f"[green]{summary.records} records[/green]: {summary.created} created, "
            f"{summary.updated} updated, {summary.unchanged} unchanged, "
            f"{summary.rejected} rejected" + (f" (see {rejects_path})" if writer.count else "")
        )


@export_app.command("customers")
def export_customers(
    tenant: str,
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Write the tenant's customers as CSV or JSON Lines (imports back as it is)."""
    from boxoffice.cli.main import _run

    if fmt not in bulk_service.FORMATS:
        raise _fail("--format is csv or jsonl")
    if output is None:
        count = _run(
            lambda core: bulk_service.export_customers(core, tenant, fmt, sys.stdout.write)
        )
        sys.stdout.flush()
    else:
        count = _export_to_file(tenant, fmt, output)
    err.print(f"[green]{count} customers exported[/green]")


def _export_to_file(tenant: str, fmt: str, output: Path) -> int:
    """Write the export to a temporary file beside ``output`` (mode 0600: personal data),
    renamed to ``output`` once complete: a failed export leaves no file, and never half of
    one in place of a previous export."""
    from boxoffice.cli.main import _run

    try:
        target = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed or renamed below)
            "w",
            encoding="utf-8",
            newline="",
            dir=output.parent,
            prefix=f".{output.name}.",
            suffix=".part",
            delete=False,
        )
    except OSError as exc:
        raise _fail(f"cannot write {output}: {exc.strerror or exc}") from exc
    written = Path(target.name)
    try:
        with target:
            count = _run(
                lambda core: bulk_service.export_customers(core, tenant, fmt, target.write)
            )
        written.replace(output)
    except BaseException:
        written.unlink(missing_ok=True)
        raise
    return count
