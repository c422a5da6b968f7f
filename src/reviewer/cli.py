"""The command line: ``reviewer scan``, ``reviewer rules``, ``reviewer explain``.

Thin by design: it parses flags, builds :class:`~reviewer.config.Settings`, calls the engine and a reporter. Every
user mistake (bad flag, bad config, missing path) is one ``error:`` line and exit code 2, never a traceback.
"""

# No ``from __future__ import annotations`` here: typer reads the commands' annotations, and as strings each one
# would be compiled and evaluated again on every run.

import dataclasses
import functools
import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reviewer import __version__
from reviewer.baseline import DEFAULT_FILE, Entry, anchored_path, load_baseline, stale_entries, write_baseline
from reviewer.baseline import match as baseline_match
from reviewer.cache import DEFAULT_DIRECTORY as DEFAULT_CACHE_DIRECTORY
from reviewer.catalog import CatalogError, RuleSpec, load_catalog, markdown_table
from reviewer.config import (
    ConfigError,
    Settings,
    build_plan,
    check_options,
    check_selectors,
    enabled_rule_ids,
    find_config,
    parse_size,
    read_config_file,
    rule_severity,
    settings_from_table,
)
from reviewer.discover import discover
from reviewer.engine import default_jobs, scan
from reviewer.findings import ScanResult
from reviewer.gitdiff import changed_lines
from reviewer.plan import UNUSED_SUPPRESSION_RULE

if TYPE_CHECKING:
    from rich.console import Console

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


def _load_settings(
    paths: list[Path], config: Path | None, cache_dir: Path | None = None, use_cache: bool = False
) -> tuple[Settings, dict[str, RuleSpec], Path, str | None]:
    """The settings, the rule catalog, the scan root and the cache directory (None without ``use_cache``: the
    given ``cache_dir``, else the default one in the scan root)."""
    for path in paths:
        if not os.path.lexists(path):
            raise ConfigError(f"path {str(path)!r} does not exist")
    config_file = config if config is not None else find_config(paths[0])
    root = _scan_root(paths, config_file if config is None else None)
    cache_directory = os.path.abspath(cache_dir or root / DEFAULT_CACHE_DIRECTORY) if use_cache else None
    catalog = load_catalog(cache_directory=cache_directory)
    table = read_config_file(config_file) if config_file is not None else {}
    source = str(config_file) if config_file is not None else "configuration"
    settings = settings_from_table(table, catalog, f"{source} [tool.reviewer]" if config_file else source)
    settings.config_file = config_file
    return settings, catalog, root, cache_directory


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
    include_suppressed: Annotated[
        bool,
        typer.Option("--include-suppressed",
                     help="SARIF: also write findings silenced by inline comments, marked as suppressed."),
    ] = False,
    project_root: Annotated[
        Path | None,
        typer.Option("--project-root", metavar="DIR",
                     help="Analyze every file under DIR (cross-file facts such as models defined elsewhere) but "
                     "report only findings in PATHS. For pre-commit hooks and editors."),
    ] = None,
    max_file_size: Annotated[
        str | None, typer.Option(help='Skip files larger than this (bytes, or "5 MB"). Default 5 MB.')
    ] = None,
    exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even when there are findings.")] = False,
    fix: Annotated[
        bool, typer.Option("--fix", help="Apply the findings' safe fixes, then report what remains.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --fix: print the fixes as a unified diff; write nothing.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Files that could not be scanned fail the run (exit 1).")
    ] = False,
    report_unused_ignores: Annotated[
        bool, typer.Option("--report-unused-ignores", help="Report suppression comments that silence nothing (RV001).")
    ] = False,
    baseline: Annotated[
        Path | None,
        typer.Option("--baseline", metavar="FILE", help="Report only findings not recorded in this baseline "
                     "(written by `reviewer baseline`)."),
    ] = None,
    report_stale: Annotated[
        bool,
        typer.Option("--report-stale", help="With --baseline: list entries that match no finding any more; they "
                     "fail the run like findings."),
    ] = False,
    diff: Annotated[
        str | None,
        typer.Option("--diff", metavar="REF", help="Report only findings on lines added or changed since the merge "
                     "base of REF (e.g. origin/main) and HEAD, uncommitted and untracked files included."),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Text output: one line per finding (and per file not scanned).")
    ] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="Never show a progress bar.")] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not read or write the cache of per-file results.")
    ] = False,
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache-dir", envvar="REVIEWER_CACHE_DIR", help="Where per-file results are cached between "
                     f"runs (default: {DEFAULT_CACHE_DIRECTORY} in the project root)."),
    ] = None,
) -> None:
    """Scan Python files for backend anti-patterns."""
    scan_paths = [Path(os.path.abspath(p)) for p in (paths or [Path(".")])]
    report_paths = None
    if project_root is not None:
        report_paths, scan_paths = (scan_paths if paths else None), [Path(os.path.abspath(project_root))]
        _check_inside(report_paths or [], scan_paths[0])
    if report_stale and baseline is None:
        raise ConfigError("--report-stale needs --baseline FILE")
    if dry_run and not fix:
        raise ConfigError("--dry-run previews --fix: pass both")
    settings, catalog, root, plan = _plan(scan_paths, config, select, ignore, max_file_size, jobs,
                                          report_unused_ignores, cache_dir=cache_dir, use_cache=not no_cache)
    plan.keep_suppressed = include_suppressed
    sources, walk_notices = discover(scan_paths, root, settings.all_excludes, settings.respect_gitignore)
    options_check = functools.partial(check_options, settings, catalog)
    result = _run(sources, plan, root, jobs or default_jobs(), walk_notices,
                  _progress_console(no_progress or quiet, len(sources)), options_check)
    result, notes, stale = _adopt(result, sources, plan, baseline, diff, report_stale)
    if report_paths is not None:
        result = _only_under(result, report_paths)
    if fix:

        def rescan() -> tuple[ScanResult, list[str], list[Entry]]:
            again, again_notes, again_stale = _adopt(_run(sources, plan, root, jobs or default_jobs(), walk_notices,
                                                          None, options_check), sources, plan, baseline, diff,
                                                     report_stale)
            return (_only_under(again, report_paths) if report_paths else again), again_notes, again_stale

        to_stdout = output_format is OutputFormat.text and output is None and not dry_run
        result, notes, stale = _fix((result, notes, stale), rescan, dry_run, _console(highlight=False,
                                                                                      stderr=not to_stdout))

    rules = list(catalog.values())
    if sarif_output is not None:
        _write(sarif_output, _render(OutputFormat.sarif, result, rules, category))
    if output_format is OutputFormat.text and output is None and not dry_run:
        from reviewer.report.text import render_text

        render_text(result, _console(highlight=False), quiet=quiet)
    elif output is not None or not dry_run:  # a dry run's diff takes standard output
        rendered = _render(output_format, result, rules, category, quiet=quiet)
        if output is not None:
            _write(output, rendered)
        else:
            sys.stdout.write(rendered)
    if notes and not quiet:
        # After the text report on standard output; elsewhere on standard error, so JSON and SARIF stay parseable.
        _print_plain(_console(highlight=False, stderr=not (output_format is OutputFormat.text and output is None)),
                     "\n".join(notes))

    if exit_zero:
        raise typer.Exit(EXIT_CLEAN)
    failed = bool(result.findings) or (strict and bool(result.notices)) or (report_stale and bool(stale))
    raise typer.Exit(EXIT_FINDINGS if failed else EXIT_CLEAN)


def _plan(scan_paths, config, select, ignore, max_file_size, jobs, report_unused_ignores=False, *,
          cache_dir: Path | None = None, use_cache: bool = False):
    """Settings from the configuration file overridden by the command line, and the plan they make."""
    settings, catalog, root, cache_directory = _load_settings(scan_paths, config, cache_dir, use_cache)
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
    plan.cache_dir = cache_directory
    return settings, catalog, root, plan


def _adopt(result: ScanResult, sources, plan, baseline_file: Path | None, diff_ref: str | None, list_stale: bool):
    """Leave out what a baseline records and, with ``--diff``, what is on unchanged lines. Returns the narrowed
    result, summary lines saying what was left out, and the stale baseline entries."""
    notes: list[str] = []
    stale: list[Entry] = []
    if baseline_file is not None:
        recorded = load_baseline(baseline_file)
        matched = baseline_match(recorded, result.findings, result.root)
        rules_by_path = {anchored_path(result.root, s.rel, recorded.anchor): set(plan.rules_for(s.rel)) for s in sources}
        for notice in result.notices:  # a file not scanned, or a rule that failed on it, checked nothing there
            rules = rules_by_path.get(anchored_path(result.root, notice.path, recorded.anchor))
            if rules is not None and notice.skipped_file:
                rules.clear()
            elif rules is not None:
                rules.discard(notice.rule_id)
        stale = stale_entries(matched, recorded, lambda path, rule: rule in rules_by_path.get(path, ()))
        result = dataclasses.replace(result, findings=matched.new)
        notes.append(f"Baseline {baseline_file}: {_count(len(matched.known), 'known finding')} not shown.")
        if stale:
            stale_count = _count(len(stale), "baseline entry matches", "baseline entries match")
            notes.append(f"{stale_count} no finding any more ("
                         + ("remove those entries, or refresh the file with `reviewer baseline`):" if list_stale
                            else "--report-stale lists them)."))
        if stale and list_stale:
            notes += [f"  {e.path}:{e.line}: {e.rule} {e.name}" + (f" in {e.scope}" if e.scope else "") for e in stale]
    if diff_ref is not None:
        changes = changed_lines(Path(result.root), diff_ref)
        touched = [f for f in result.findings if changes.touches(os.path.join(result.root, f.path), f.span)]
        notes.append(f"Diff against {diff_ref} (merge base {changes.merge_base[:12]}): "
                     f"{_count(len(result.findings) - len(touched), 'finding')} on unchanged lines not shown.")
        result = dataclasses.replace(result, findings=touched, suppressed_findings=[
            f for f in result.suppressed_findings if changes.touches(os.path.join(result.root, f.path), f.span)])
    return result, notes, stale


def _console(**options: Any) -> "Console":
    """A rich console. rich is imported on first use: a scan that writes JSON or SARIF to a file never needs it,
    and it is a fifth of the start-up of a scan the cache serves."""
    from rich.console import Console

    return Console(**options)


def _print_plain(console: "Console", text: str) -> None:
    """Print ``text`` as it is: no markup, highlighting or wrapping (paths and messages hold brackets)."""
    from rich.text import Text

    console.print(Text(text), soft_wrap=True)


def _progress_console(disabled: bool, files: int) -> "Console | None":
    """Standard error's console when a progress bar is wanted there: a terminal, and enough files to wait for."""
    if disabled or files < PROGRESS_MIN_FILES or not sys.stderr.isatty():
        return None
    console = _console(stderr=True)
    return console if console.is_terminal else None


def _count(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


def _fix(scanned, rescan, dry_run: bool, console: "Console"):
    """Apply the fixes of the scan's findings file by file, scanning again after each pass (overlapping fixes wait
    for fresh positions) until nothing is left to apply; print the diff (dry run) or what changed. Returns the
    final scan, as ``rescan`` does."""
    from reviewer.fixes import MAX_PASSES, fix_files, summarize

    passes = []
    while len(passes) < MAX_PASSES:
        changes = fix_files(scanned[0].findings, scanned[0].root, write=not dry_run)
        passes.append(changes)
        if dry_run:
            sys.stdout.write("".join(change.diff() for change in changes))
            break
        if not any(change.applied for change in changes):
            break
        scanned = rescan()
        if not any(change.deferred for change in changes):
            break
    _print_plain(console, "\n".join(summarize(passes, dry_run=dry_run)))
    return scanned


def _run(sources, plan, root, jobs, walk_notices, progress_console, options_check) -> ScanResult:
    if progress_console is None:
        return scan(sources, plan, str(root), jobs, walk_notices, before_analysis=options_check)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # a TTY only

    columns = (TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=progress_console, transient=True) as progress:
        task = progress.add_task("scan", total=len(sources))
        return scan(sources, plan, str(root), jobs, walk_notices, lambda n: progress.advance(task, n), options_check)


def _check_inside(paths: list[Path], project: Path) -> None:
    if not project.is_dir():
        raise ConfigError(f"--project-root {str(project)!r} is not a folder")
    for path in paths:
        if path != project and project not in path.parents:
            raise ConfigError(f"{str(path)!r} is not inside --project-root {str(project)!r}")


def _only_under(result: ScanResult, paths: list[Path]) -> ScanResult:
    """The findings and notices of ``result`` in these files or folders (the project's other files were analyzed
    for their facts only)."""
    root = Path(result.root)

    def wanted(rel: str) -> bool:
        where = root / rel
        return any(where == path or path in where.parents for path in paths)

    return dataclasses.replace(
        result,
        findings=[f for f in result.findings if wanted(f.path)],
        suppressed_findings=[f for f in result.suppressed_findings if wanted(f.path)],
        notices=[n for n in result.notices if wanted(n.path)],
    )


def _render(
    output_format: OutputFormat, result: ScanResult, rules: list[RuleSpec], category: str | None, quiet: bool = False
) -> str:
    if output_format in (OutputFormat.sarif, OutputFormat.github):
        from reviewer.report.repository import rebase, repository_root

        # Code scanning and annotations need paths as the repository knows them, whatever folder was scanned.
        result = rebase(result, repository_root(result.root))
    if output_format is OutputFormat.sarif:
        from reviewer.report.sarif import render_sarif

        return render_sarif(result, rules, tool_version=__version__, category=category)
    if output_format is OutputFormat.json:
        from reviewer.report.json_report import render_json

        return render_json(result, tool_version=__version__)
    if output_format is OutputFormat.github:
        from reviewer.report.github import render_github

        return render_github(result)
    from reviewer.report.text import render_text

    console = _console(record=True, file=open(os.devnull, "w"), color_system=None, width=10_000)
    render_text(result, console, quiet=quiet)
    return console.export_text()


def _write(path: Path, content: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


@app.command("baseline")
def baseline_command(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders to scan (default: .).")] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The baseline file to write (replaced if it exists).")
    ] = Path(DEFAULT_FILE),
    select: Annotated[
        list[str] | None, typer.Option(help="Rules to record (same forms as `scan --select`).")
    ] = None,
    ignore: Annotated[list[str] | None, typer.Option(help="Rules not to record (same forms as `scan --ignore`).")
                      ] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Worker processes (default: all cores).")] = None,
    config: Annotated[
        Path | None, typer.Option(help="Configuration file (a pyproject.toml or a TOML file of reviewer keys).")
    ] = None,
    max_file_size: Annotated[
        str | None, typer.Option(help='Skip files larger than this (bytes, or "5 MB"). Default 5 MB.')
    ] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="Never show a progress bar.")] = False,
) -> None:
    """Record today's findings, so `reviewer scan --baseline FILE` reports only new ones."""
    scan_paths = [Path(os.path.abspath(p)) for p in (paths or [Path(".")])]
    settings, catalog, root, plan = _plan(scan_paths, config, select, ignore, max_file_size, jobs)
    sources, walk_notices = discover(scan_paths, root, settings.all_excludes, settings.respect_gitignore)
    result = _run(sources, plan, root, jobs or default_jobs(), walk_notices,
                  _progress_console(no_progress, len(sources)), functools.partial(check_options, settings, catalog))
    entries = write_baseline(output, result.findings, result.root, __version__)
    if result.notices:
        _print_plain(_console(stderr=True, highlight=False),
                     f"warning: {_count(result.files_skipped, 'file')} not fully scanned; findings there are not "
                     "recorded:\n" + "\n".join(f"  {n.path}: {n.message} [{n.kind.value}]" for n in result.notices))
    files = len({entry.path for entry in entries})
    _print_plain(_console(highlight=False),
                 f"Recorded {_count(len(entries), 'finding')} in {_count(files, 'file')} to {output}.")


@app.command("rules")
def rules_command(
    config: Annotated[Path | None, typer.Option(help="Configuration file to show enabled rules for.")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the catalog as a Markdown table.")] = False,
) -> None:
    """List every rule: id, name, category, default severity, and whether this configuration enables it."""
    if markdown:
        sys.stdout.write(markdown_table(list(load_catalog().values())))
        return
    settings, catalog, _, _ = _load_settings([Path(os.path.abspath("."))], config)
    enabled = set(enabled_rule_ids(settings, catalog))
    from rich.table import Table

    table = Table(show_edge=False, header_style="bold")
    for column in ("id", "name", "category", "severity", "enabled"):
        table.add_column(column, no_wrap=True)
    table.add_column("summary", overflow="fold")
    for spec in catalog.values():
        table.add_row(spec.id, spec.name, spec.category, rule_severity(spec, settings).value,
                      "yes" if spec.id in enabled else "no", spec.summary)
    _console(highlight=False).print(table)


@app.command("explain")
def explain_command(rule: Annotated[str, typer.Argument(help="A rule id (RV201) or name (blocking-call-in-async).")]) -> None:
    """Show a rule's documentation."""
    catalog = load_catalog()
    spec = catalog.get(rule.upper()) or next((s for s in catalog.values() if s.name == rule.lower()), None)
    if spec is None:
        raise ConfigError(f"unknown rule {rule!r}; run `reviewer rules` to list them")
    from rich.markdown import Markdown  # markdown-it and pygments: only this command needs them

    _console().print(Markdown(spec.markdown))


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
