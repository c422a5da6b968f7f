"""The command line: ``reviewer scan``, ``reviewer rules``, ``reviewer explain``.

Thin by design: it parses flags, builds :class:`~reviewer.config.Settings`, calls the engine and a reporter. Every
user mistake (bad flag, bad config, missing path) is one ``error:`` line and exit code 2, never a traceback.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from reviewer import __version__
from reviewer.catalog import CatalogError, RuleSpec, load_catalog, markdown_table
from reviewer.config import (
    ConfigError,
    Settings,
    build_plan,
    check_selectors,
    enabled_rule_ids,
    find_config,
    parse_size,
    read_config_file,
    rule_severity,
    settings_from_table,
)
from reviewer.discover import discover
from reviewer.engine import UNUSED_SUPPRESSION_RULE, default_jobs, scan
from reviewer.findings import ScanResult
from reviewer.report.text import render_text

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
PROGRESS_MIN_FILES = 200

app = typer.Typer(
    name="reviewer",
    help="Static code review for Python backends: N+1 queries, secrets, blocking calls in async code, and more.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class OutputFormat(str, Enum):
    text = "text"
    sarif = "sarif"
    json = "json"
    github = "github"


def _split(values: list[str] | None) -> list[str] | None:
    """``--select RV2,RV301 --select async`` -> ["RV2", "RV301", "async"]."""
    if values is None:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _version(value: bool) -> None:
    if value:
        print(f"reviewer {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = None,
) -> None:
    """Static code review for Python backends."""


def _load_settings(paths: list[Path], config: Path | None) -> tuple[Settings, dict[str, RuleSpec], Path]:
    catalog = load_catalog()
    for path in paths:
        if not os.path.lexists(path):
            raise ConfigError(f"path {str(path)!r} does not exist")
    config_file = config if config is not None else find_config(paths[0])
    table = read_config_file(config_file) if config_file is not None else {}
    source = str(config_file) if config_file is not None else "configuration"
    settings = settings_from_table(table, catalog, f"{source} [tool.reviewer]" if config_file else source)
    settings.config_file = config_file
    return settings, catalog, _scan_root(paths, config_file if config is None else None)


def _scan_root(paths: list[Path], discovered_config: Path | None) -> Path:
    """What finding paths are relative to: the project (the discovered pyproject's folder) when every scanned path
    is inside it, else the scanned folder, else the common parent of the scanned paths."""
    folders = [p if p.is_dir() else p.parent for p in paths]
    if discovered_config is not None:
        project = discovered_config.parent
        if all(folder == project or project in folder.parents for folder in folders):
            return project
    return Path(os.path.commonpath([str(f) for f in folders]))


@app.command("scan")
def scan_command(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders to scan (default: .).")] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = OutputFormat.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to FILE.")] = None,
    sarif_output: Annotated[
        Path | None, typer.Option("--sarif-output", help="Also write SARIF to FILE (with any --format).")
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option(help="Rules to run: ids (RV201), id prefixes (RV2), names or categories; comma-separated. "
                     "Replaces the configured selection."),
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option(help="Rules to skip (same forms as --select); added to the configured ones.")
    ] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Worker processes (default: all cores).")] = None,
    config: Annotated[
        Path | None, typer.Option(help="Configuration file (a pyproject.toml or a TOML file of reviewer keys).")
    ] = None,
    category: Annotated[
        str | None, typer.Option(help="SARIF automationDetails category (code scanning: one per upload).")
    ] = None,
    max_file_size: Annotated[
        str | None, typer.Option(help='Skip files larger than this (bytes, or "5 MB"). Default 5 MB.')
    ] = None,
    exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even when there are findings.")] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Files that could not be scanned fail the run (exit 1).")
    ] = False,
    report_unused_ignores: Annotated[
        bool, typer.Option("--report-unused-ignores", help="Report suppression comments that silence nothing (RV001).")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Text output: one line per finding (and per file not scanned).")
    ] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="Never show a progress bar.")] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not read or write the cache (accepted; there is no cache yet).")
    ] = False,
) -> None:
    """Scan Python files for backend anti-patterns."""
    del no_cache  # every scan is uncached for now
    scan_paths = [Path(os.path.abspath(p)) for p in (paths or [Path(".")])]
    settings, catalog, root = _load_settings(scan_paths, config)
    if select is not None:
        settings.select = check_selectors(_split(select) or [], catalog, "--select")
    if ignore:
        settings.ignore = [*settings.ignore, *check_selectors(_split(ignore) or [], catalog, "--ignore")]
    if report_unused_ignores:
        settings.extend_select = [*settings.extend_select, UNUSED_SUPPRESSION_RULE]
    if max_file_size is not None:
        settings.max_file_size = parse_size(max_file_size, "--max-file-size")
    if jobs is not None and jobs < 1:
        raise ConfigError("--jobs must be 1 or more")

    plan = build_plan(settings, catalog)
    sources, walk_notices = discover(scan_paths, root, settings.all_excludes, settings.respect_gitignore)
    stderr = Console(stderr=True)
    show_progress = not (no_progress or quiet) and stderr.is_terminal and len(sources) >= PROGRESS_MIN_FILES
    result = _run(sources, plan, root, jobs or default_jobs(), walk_notices, stderr if show_progress else None)

    rules = list(catalog.values())
    if sarif_output is not None:
        _write(sarif_output, _render(OutputFormat.sarif, result, rules, category))
    if output_format is OutputFormat.text and output is None:
        render_text(result, Console(highlight=False), quiet=quiet)
    else:
        rendered = _render(output_format, result, rules, category, quiet=quiet)
        if output is not None:
            _write(output, rendered)
        else:
            sys.stdout.write(rendered)

    if exit_zero:
        raise typer.Exit(EXIT_CLEAN)
    failed = bool(result.findings) or (strict and bool(result.notices))
    raise typer.Exit(EXIT_FINDINGS if failed else EXIT_CLEAN)


def _run(sources, plan, root, jobs, walk_notices, progress_console) -> ScanResult:
    if progress_console is None:
        return scan(sources, plan, str(root), jobs, walk_notices)
    columns = (TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=progress_console, transient=True) as progress:
        task = progress.add_task("scan", total=len(sources))
        return scan(sources, plan, str(root), jobs, walk_notices, lambda n: progress.advance(task, n))


def _render(
    output_format: OutputFormat, result: ScanResult, rules: list[RuleSpec], category: str | None, quiet: bool = False
) -> str:
    if output_format is OutputFormat.sarif:
        from reviewer.report.sarif import render_sarif

        return render_sarif(result, rules, tool_version=__version__, category=category)
    if output_format is OutputFormat.json:
        from reviewer.report.json_report import render_json

        return render_json(result, tool_version=__version__)
    if output_format is OutputFormat.github:
        from reviewer.report.github import render_github

        return render_github(result)
    console = Console(record=True, file=open(os.devnull, "w"), color_system=None, width=10_000)
    render_text(result, console, quiet=quiet)
    return console.export_text()


def _write(path: Path, content: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


@app.command("rules")
def rules_command(
    config: Annotated[Path | None, typer.Option(help="Configuration file to show enabled rules for.")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the catalog as a Markdown table.")] = False,
) -> None:
    """List every rule: id, name, category, default severity, and whether this configuration enables it."""
    if markdown:
        sys.stdout.write(markdown_table(list(load_catalog().values())))
        return
    settings, catalog, _ = _load_settings([Path(os.path.abspath("."))], config)
    enabled = set(enabled_rule_ids(settings, catalog))
    table = Table(show_edge=False, header_style="bold")
    for column in ("id", "name", "category", "severity", "enabled"):
        table.add_column(column, no_wrap=True)
    table.add_column("summary", overflow="fold")
    for spec in catalog.values():
        table.add_row(spec.id, spec.name, spec.category, rule_severity(spec, settings).value,
                      "yes" if spec.id in enabled else "no", spec.summary)
    Console(highlight=False).print(table)


@app.command("explain")
def explain_command(rule: Annotated[str, typer.Argument(help="A rule id (RV201) or name (blocking-call-in-async).")]) -> None:
    """Show a rule's documentation."""
    catalog = load_catalog()
    spec = catalog.get(rule.upper()) or next((s for s in catalog.values() if s.name == rule.lower()), None)
    if spec is None:
        raise ConfigError(f"unknown rule {rule!r}; run `reviewer rules` to list them")
    Console().print(Markdown(spec.markdown))


def main() -> None:
    """Entry point: run the app, turning user mistakes into one ``error:`` line and exit code 2."""
    try:
        code = app(standalone_mode=False)
    except ConfigError as exc:
        _fail(str(exc))
    except typer.TyperException as exc:
        # Usage errors (unknown flag, bad choice, missing argument) from the command-line parser.
        context = getattr(exc, "ctx", None)
        command = context.command_path if context is not None else "reviewer"
        _fail(f"{' '.join(exc.format_message().split())} (see `{command} --help`)")
    except typer.Abort:
        _fail("aborted")
    except CatalogError as exc:
        _fail(f"the rule catalog is broken (a packaging bug): {exc}")
    except KeyboardInterrupt:
        _fail("interrupted")
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else EXIT_CLEAN)


def _fail(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.exit(EXIT_ERROR)
