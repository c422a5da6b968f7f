"""Fixes: the rules' fixes on sample code, applying edits (overlaps, shared edits, results that do not parse),
writing files, and the real command line (`--fix`, `--fix --dry-run`, SARIF `fixes`)."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import libcst as cst
import pytest
from conftest import analyze_source, rule_plan
from sarif_validation import validate
from test_cli import one_error_line, reviewer
from typer.testing import CliRunner

from reviewer.checks.timeouts import MissingTimeout
from reviewer.cli import app
from reviewer.findings import Finding, Fix, Severity, Span, TextEdit
from reviewer.fixes import apply_fixes, fix_files, line_starts
from reviewer.index import ProjectIndex

FIXTURE = Path(__file__).parent / "fixtures" / "fixable_app"
FIXABLE_RULES = "RV104,RV201,RV305,RV402"


def findings_of(source: str, rule_id: str, rule_table: dict | None = None) -> list[Finding]:
    result = analyze_source(source, rule_plan(rule_id, rule_table))
    return sorted(result.findings + ProjectIndex([result]).resolve(result.candidates), key=lambda f: f.sort_key)


def fixed(source: str, rule_id: str, rule_table: dict | None = None) -> str:
    """The source after applying every fix the rule offers; the fixed code must parse and no longer have the
    fixed findings."""
    source = textwrap.dedent(source)
    findings = findings_of(source, rule_id, rule_table)
    outcome = apply_fixes(source, [f.fix for f in findings if f.fix is not None])
    assert not outcome.deferred and not outcome.refused
    # Each fix resolves its finding, and only that.
    assert len(findings_of(outcome.text, rule_id, rule_table)) == sum(1 for f in findings if f.fix is None)
    return outcome.text


def fixes_of(source: str, rule_id: str) -> list[Fix | None]:
    return [finding.fix for finding in findings_of(textwrap.dedent(source), rule_id)]


# -- RV201 ------------------------------------------------------------------------------------------------------------


def test_rv201_sleep_becomes_asyncio_sleep_and_the_import_is_added_once() -> None:
    source = '''\
        """Retries."""

        from __future__ import annotations

        import time

        import requests


        async def poll(url):
            for attempt in range(3):
                time.sleep(2**attempt)  # backoff
            time.sleep(
                0.5
            )
            return requests
        '''
    assert fixed(source, "RV201") == textwrap.dedent('''\
        """Retries."""

        from __future__ import annotations

        import asyncio
        import time

        import requests


        async def poll(url):
            for attempt in range(3):
                await asyncio.sleep(2**attempt)  # backoff
            await asyncio.sleep(
                0.5
            )
            return requests
        ''')


def test_rv201_uses_an_existing_asyncio_import_and_from_imports_of_sleep() -> None:
    source = """\
        import asyncio
        from time import sleep


        async def wait():
            sleep(1)
            await asyncio.sleep(0)
        """
    assert fixed(source, "RV201") == textwrap.dedent("""\
        import asyncio
        from time import sleep


        async def wait():
            await asyncio.sleep(1)
            await asyncio.sleep(0)
        """)


def test_rv201_offers_no_fix_where_the_rewrite_is_not_mechanical() -> None:
    source = """\
        import time

        import requests


        async def handler(asyncio):
            time.sleep(1)  # `asyncio` is a parameter here
            requests.get("https://example.com", timeout=5)


        async def other():
            done = time.sleep(1) or True
            time.sleep()
            return done
        """
    assert fixes_of(source, "RV201") == [None] * 4


def test_rv201_import_goes_at_the_top_of_a_module_without_imports() -> None:
    source = """\
        # a script
        async def main():
            __import__("time").sleep(1)
            sleep = __import__("time").sleep
        """
    assert fixes_of(source, "RV201") == []  # nothing resolved: not reported
    source = """\
        #!/usr/bin/env python
        async def main(time):
            pass


        from time import sleep


        async def later():
            sleep(1)
        """
    assert fixed(source, "RV201") == textwrap.dedent("""\
        #!/usr/bin/env python
        import asyncio
        async def main(time):
            pass


        from time import sleep


        async def later():
            await asyncio.sleep(1)
        """)


# -- RV402 ------------------------------------------------------------------------------------------------------------


def test_rv402_adds_the_configured_timeout() -> None:
    source = """\
        import requests


        def sync(url):
            requests.get(url)
            requests.post(
                url,
                json={},
            )
            requests.put(url, timeout=None)
        """
    expected = """\
        import requests


        def sync(url):
            requests.get(url, timeout={t})
            requests.post(
                url,
                json={{}},
                timeout={t},
            )
            requests.put(url, timeout={t})
        """
    assert fixed(source, "RV402") == textwrap.dedent(expected.format(t=10))
    assert fixed(source, "RV402", {"fix-timeout": 3.05}) == textwrap.dedent(expected.format(t=3.05))
    assert fixed(source, "RV402", {"fix-timeout": 30}) == textwrap.dedent(expected.format(t=30))


@pytest.mark.parametrize("value", [0, -1.5, float("inf")])
def test_rv402_fix_timeout_must_be_positive(value: float) -> None:
    with pytest.raises(ValueError, match="fix-timeout must be a positive number of seconds"):
        MissingTimeout.validate_options({"fix-timeout": value})


def test_rv402_timeout_objects_have_no_fix() -> None:
    source = """\
        import aiohttp

        TIMEOUT = aiohttp.ClientTimeout()
        """
    assert fixes_of(source, "RV402") == [None]


# -- RV104 ------------------------------------------------------------------------------------------------------------


def test_rv104_len_becomes_count_and_truth_tests_exists() -> None:
    source = """\
        from shop.models import Order


        def summary(customer):
            unpaid = Order.objects.filter(customer=customer, paid=False)
            if not unpaid:
                return "all paid"
            return len(unpaid), bool(Order.objects.filter(paid=True))
        """
    assert fixed(source, "RV104") == textwrap.dedent("""\
        from shop.models import Order


        def summary(customer):
            unpaid = Order.objects.filter(customer=customer, paid=False)
            if not unpaid.exists():
                return "all paid"
            return unpaid.count(), Order.objects.filter(paid=True).exists()
        """)


def test_rv104_no_fix_that_would_drop_a_comment() -> None:
    source = """\
        from shop.models import Order


        def any_order():
            return len(
                Order.objects.filter(paid=True)  # paid ones only
            )
        """
    assert fixes_of(source, "RV104") == [None]


# -- RV305 ------------------------------------------------------------------------------------------------------------


def test_rv305_turns_verification_back_on() -> None:
    source = """\
        import jwt
        from rest_framework_simplejwt.tokens import AccessToken


        def claims(token, key):
            return jwt.decode(token, key, algorithms=["HS256"], options={"verify_signature": False, "require": ["exp"]})


        def claims_only_option(token, key):
            return jwt.decode(
                token,
                key,
                algorithms=["HS256"],
                options={"verify_signature": False},
            )


        def claims_dict_call(token, key):
            return jwt.decode(token, key, algorithms=["HS256"], options=dict(verify_aud=True, verify_signature=False))


        def legacy(token, key):
            return jwt.decode(token, key, verify=False)


        def user_id(raw):
            return AccessToken(raw, verify=False)["user_id"]
        """
    assert fixed(source, "RV305") == textwrap.dedent("""\
        import jwt
        from rest_framework_simplejwt.tokens import AccessToken


        def claims(token, key):
            return jwt.decode(token, key, algorithms=["HS256"], options={"require": ["exp"]})


        def claims_only_option(token, key):
            return jwt.decode(
                token,
                key,
                algorithms=["HS256"],
            )


        def claims_dict_call(token, key):
            return jwt.decode(token, key, algorithms=["HS256"], options=dict(verify_aud=True))


        def legacy(token, key):
            return jwt.decode(token, key)


        def user_id(raw):
            return AccessToken(raw)["user_id"]
        """)


def test_rv305_no_fix_when_turning_verification_on_needs_a_decision() -> None:
    source = """\
        import jwt

        OPTIONS = {"verify_signature": False}


        def no_key(token):
            return jwt.decode(token, options={"verify_signature": False})


        def no_algorithms(token, key):
            return jwt.decode(token, key, options={"verify_signature": False})


        def shared_options(token, key):
            return jwt.decode(token, key, algorithms=["HS256"], options=OPTIONS)


        def legacy_without_key(token):
            return jwt.decode(token, verify=False)
        """
    assert fixes_of(source, "RV305") == [None] * 4


# -- applying -------------------------------------------------------------------------------------------------------


def _edit(text: str, start: int, end: int, new: str) -> TextEdit:
    starts = line_starts(text)

    def position(offset: int) -> tuple[int, int]:
        line = max(index for index, begin in enumerate(starts) if begin <= offset)
        return line + 1, offset - starts[line] + 1

    return TextEdit(*position(start), *position(end), new)


def test_overlapping_fixes_are_deferred_and_identical_edits_shared() -> None:
    text = "x = len(len(a))\n"
    outer = Fix("outer", (_edit(text, 4, 15, "OUTER"),))
    inner = Fix("inner", (_edit(text, 8, 14, "INNER"),))
    header = _edit(text, 0, 0, "import b\n")
    first = Fix("first", (header, _edit(text, 0, 1, "y")))
    second = Fix("second", (header,))
    outcome = apply_fixes(text, [outer, inner])
    assert (outcome.text, outcome.applied, outcome.deferred) == ("x = OUTER\n", [0], [1])
    outcome = apply_fixes(text, [first, second])
    assert (outcome.text, outcome.applied, outcome.deferred) == ("import b\ny = len(len(a))\n", [0, 1], [])


def test_an_insertion_touching_another_fixs_span_waits() -> None:
    text = "f(a)\n"
    outcome = apply_fixes(text, [Fix("r", (_edit(text, 2, 3, "b"),)), Fix("i", (_edit(text, 3, 3, ", c"),))])
    assert outcome.applied == [0] and outcome.deferred == [1]


def test_fixes_that_would_not_parse_are_refused_and_the_others_kept() -> None:
    text = "a = 1\nb = 2\n"
    good = Fix("good", (_edit(text, 4, 5, "10"),))
    broken = Fix("broken", (_edit(text, 10, 11, "("),))
    outcome = apply_fixes(text, [good, broken])
    assert (outcome.text, outcome.applied, outcome.refused) == ("a = 10\nb = 2\n", [0], [1])
    cst.parse_module(outcome.text)
    beyond = Fix("beyond", (TextEdit(9, 1, 9, 2, "x"),))
    assert apply_fixes(text, [beyond]).refused == [0]


def _finding(path: str, fix: Fix) -> Finding:
    return Finding(path, Span(1, 1, 1, 2), "RV999", "test", Severity.WARNING, "m", fix=fix)


def test_fix_files_writes_only_code_that_parses_in_the_files_own_encoding(tmp_path: Path) -> None:
    (tmp_path / "bom.py").write_bytes(b"\xef\xbb\xbfa = 1\r\nb = 2\r\n")
    (tmp_path / "latin.py").write_bytes("# -*- coding: latin-1 -*-\nname = 'é'\n".encode("latin-1"))
    (tmp_path / "broken.py").write_bytes(b"a = 1\n")
    results = fix_files(
        [
            _finding("bom.py", Fix("f", (TextEdit(2, 5, 2, 6, "3"),))),
            _finding("latin.py", Fix("f", (TextEdit(2, 1, 2, 5, "nom"),))),
            _finding("broken.py", Fix("f", (TextEdit(1, 5, 1, 6, "(("),))),
        ],
        str(tmp_path),
        write=True,
    )
    assert [(r.path, len(r.applied), len(r.refused)) for r in results] == [
        ("bom.py", 1, 0), ("broken.py", 0, 1), ("latin.py", 1, 0)
    ]
    assert (tmp_path / "bom.py").read_bytes() == b"\xef\xbb\xbfa = 1\r\nb = 3\r\n"
    assert (tmp_path / "latin.py").read_bytes() == "# -*- coding: latin-1 -*-\nnom = 'é'\n".encode("latin-1")
    assert (tmp_path / "broken.py").read_bytes() == b"a = 1\n"


# -- the command line -------------------------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "fixable_app"
    shutil.copytree(FIXTURE, target)
    return target


def in_process(*args: str) -> tuple[int, str, str]:
    """The command line run in this process (each subprocess pays the interpreter's start): exit code, standard
    output, standard error."""
    result = CliRunner().invoke(app, [*args, "-j1"], env={"NO_COLOR": "1"})
    return result.exit_code, result.stdout, result.stderr


def _sources(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*.py"))}


def test_dry_run_prints_a_unified_diff_and_writes_nothing(project: Path) -> None:
    before = _sources(project)
    result = reviewer("scan", str(project), "--select", FIXABLE_RULES, "--fix", "--dry-run", "-j1")
    assert _sources(project) == before
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("--- a/api/worker.py\n+++ b/api/worker.py\n@@ ")
    assert "+import asyncio\n" in result.stdout
    assert "-            time.sleep(2**attempt)  # backoff\n+            await asyncio.sleep(2**attempt)  # backoff\n" \
        in result.stdout
    assert "+        timeout=10,\n" in result.stdout
    assert "-    if not unpaid:\n+    if not unpaid.exists():\n" in result.stdout
    assert '-        options={"verify_signature": False, "require": ["exp"]},\n' in result.stdout
    assert result.stderr.startswith("Would fix 9 findings in 3 files:\n")
    assert "  api/worker.py: RV201 (2), RV402 (2)\n" in result.stderr


def test_fix_applies_reports_what_it_changed_then_what_remains(project: Path) -> None:
    code, stdout, stderr = in_process("scan", str(project), "--select", FIXABLE_RULES, "--fix", "-q")
    assert code == 1, stderr
    assert stdout.startswith(
        "Fixed 9 findings in 3 files:\n"
        "  api/worker.py: RV201 (2), RV402 (2)\n"
        "  shop/auth.py: RV305 (3)\n"
        "  shop/reports.py: RV104 (2)\n"
    )
    left = [" ".join(line.split(" ")[:2]) for line in stdout.splitlines()[4:]]
    # The findings no fix can resolve safely are what remains.
    assert left == ["api/worker.py:33:18: RV201", "shop/auth.py:25:12: RV305", "shop/reports.py:14:12: RV104"]
    for text in _sources(project).values():
        cst.parse_module(text.decode())
    code, stdout, stderr = in_process("scan", str(project), "--select", FIXABLE_RULES, "--fix", "--dry-run")
    assert (code, stdout, stderr) == (1, "", "Would fix 0 findings in 0 files.\n")


def test_applying_the_sarif_fixes_gives_what_fix_writes(project: Path, tmp_path: Path) -> None:
    sarif_copy = tmp_path / "sarif_copy"
    shutil.copytree(project, sarif_copy)
    sarif_file = tmp_path / "reviewer.sarif"
    code, _, stderr = in_process("scan", str(sarif_copy), "--select", FIXABLE_RULES, "--format", "sarif",
                                 "-o", str(sarif_file))
    assert code == 1, stderr
    log = json.loads(sarif_file.read_text(encoding="utf-8"))
    validate(log)
    results = log["runs"][0]["results"]
    with_fixes = [r for r in results if "fixes" in r]
    assert len(with_fixes) == 9 and len(results) == 12
    fix = with_fixes[0]["fixes"][0]
    assert set(fix) == {"description", "artifactChanges"}
    change = fix["artifactChanges"][0]
    assert change["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    assert set(change["replacements"][0]) == {"deletedRegion", "insertedContent"}

    # Apply every replacement as an editor would: regions are relative to the file as scanned, so from the end.
    # Two fixes may share one edit (each adds `import asyncio`): applied once.
    base = Path(log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"].removeprefix("file://"))
    per_file: dict[str, set[tuple[int, int, int, int, str]]] = {}
    for result in with_fixes:
        for change in result["fixes"][0]["artifactChanges"]:
            for replacement in change["replacements"]:
                region = replacement["deletedRegion"]
                per_file.setdefault(change["artifactLocation"]["uri"], set()).add((
                    region["startLine"], region["startColumn"], region["endLine"], region["endColumn"],
                    replacement["insertedContent"]["text"],
                ))
    for uri, replacements in per_file.items():
        path = base / uri
        text = path.read_text(encoding="utf-8")
        lines = [*text.splitlines(keepends=True), ""]
        starts = [sum(len(line) for line in lines[:index]) for index in range(len(lines))]
        for line, column, end_line, end_column, new in sorted(replacements, key=lambda r: (r[0], r[1], r[2], r[3]),
                                                             reverse=True):
            start, end = starts[line - 1] + column - 1, starts[end_line - 1] + end_column - 1
            text = text[:start] + new + text[end:]
        path.write_text(text, encoding="utf-8")

    code, _, stderr = in_process("scan", str(project), "--select", FIXABLE_RULES, "--fix")
    assert code == 1, stderr
    assert _sources(sarif_copy) == _sources(project)
    assert _sources(project) != _sources(FIXTURE)


def test_json_report_carries_the_fix(project: Path) -> None:
    _, stdout, _ = in_process("scan", str(project / "api"), "--select", "RV402", "--format", "json")
    findings = json.loads(stdout)["findings"]
    assert findings[0]["fix"] == {
        "description": "Add `timeout=10`",
        "edits": [{"range": {"start": {"line": 17, "column": 34}, "end": {"line": 17, "column": 34}},
                   "text": "\n        timeout=10,"}],
    }


def test_overlapping_fixes_are_applied_by_a_later_pass(tmp_path: Path) -> None:
    (tmp_path / "nested.py").write_text(textwrap.dedent("""\
        from shop.models import Order


        def counts():
            return len(Order.objects.filter(rank=len(Order.objects.all())))
        """), encoding="utf-8")
    _, stdout, stderr = in_process("scan", str(tmp_path), "--select", "RV104", "--fix", "--dry-run")
    assert "+    return Order.objects.filter(rank=len(Order.objects.all())).count()\n" in stdout
    assert "1 fix overlapping another was left for a later pass (a later `--fix` run applies them):\n" \
           "  nested.py:5:42: RV104\n" in stderr
    code, stdout, stderr = in_process("scan", str(tmp_path), "--select", "RV104", "--fix")
    assert code == 0, stdout + stderr
    assert stdout.startswith("Fixed 2 findings in 1 file:\n  nested.py: RV104 (2)\n")
    assert "return Order.objects.filter(rank=Order.objects.all().count()).count()\n" in \
        (tmp_path / "nested.py").read_text(encoding="utf-8")


def test_dry_run_needs_fix() -> None:
    result = reviewer("scan", str(FIXTURE), "--dry-run")
    assert result.returncode == 2
    assert one_error_line(result) == "error: --dry-run previews --fix: pass both"
