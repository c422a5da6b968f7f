"""What reaches the outputs: exactly the findings, escaped for each format, never a secret, the same bytes every run.

- Paths with spaces, non-ASCII letters, ``#``, ``%``, ``,``, ``:`` and control characters, through the real command
  line: SARIF stays schema-valid and its URIs decode back to the paths, JSON parses back to them, and every GitHub
  workflow command is one line whose properties and message unescape (as the runner does) to them.
- Arbitrary text in messages and paths through the reporters directly: the same properties, for any string.
- Known token formats (a GitHub token with a valid checksum, an AWS key pair, a PEM private key) are reported but
  never shown: not in any format, on standard error, in the baseline file or in the cache directory.
- Two runs, one job or two, a cold or a warm cache: the same JSON and SARIF, byte for byte.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sarif_validation import validate

from reviewer import __version__
from reviewer.catalog import load_catalog
from reviewer.findings import Finding, Notice, NoticeKind, Related, ScanResult, Severity, Span
from reviewer.report.github import render_github
from reviewer.report.json_report import render_json
from reviewer.report.sarif import render_sarif

FIXTURES = Path(__file__).parent / "fixtures"
CATALOG = load_catalog()
RULES = list(CATALOG.values())


def reviewer(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reviewer", *args], capture_output=True, text=True, errors="surrogateescape",
        cwd=cwd, timeout=120, env={**os.environ, "NO_COLOR": "1"},
    )


def run_all(commands: dict[str, tuple[tuple[str, ...], Path]]) -> dict[str, subprocess.CompletedProcess]:
    """Run independent command lines concurrently: each is a fresh interpreter, mostly spent importing."""
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {name: pool.submit(reviewer, *args, cwd=cwd) for name, (args, cwd) in commands.items()}
        return {name: future.result() for name, future in futures.items()}


# -- GitHub workflow commands, read back as the runner reads them ------------------------------------------------------

# https://github.com/actions/toolkit (packages/core/src/command.ts) escapes "%", CR and LF in the message, and also
# ":" and "," in property values; the runner undoes it with "%25" last.
COMMAND = re.compile(r"::(?P<name>[a-z]+) (?P<properties>[^:]*)::(?P<message>.*)", re.DOTALL)


def unescape(text: str, *, is_property: bool) -> str:
    pairs = [("%0D", "\r"), ("%0A", "\n")] + ([("%3A", ":"), ("%2C", ",")] if is_property else [])
    for escaped, character in [*pairs, ("%25", "%")]:
        text = text.replace(escaped, character)
    return text


def read_commands(output: str) -> list[tuple[str, dict[str, str], str]]:
    """(command, properties, message) of every workflow command; each must be exactly one line."""
    assert output.endswith("\n") or output == ""
    commands = []
    for line in output[:-1].split("\n") if output else []:
        assert "\r" not in line, line
        match = COMMAND.fullmatch(line)
        assert match is not None, line
        properties = {}
        for pair in match["properties"].split(","):
            key, _, value = pair.partition("=")
            assert key and key not in properties, line
            properties[key] = unescape(value, is_property=True)
        commands.append((match["name"], properties, unescape(match["message"], is_property=False)))
    return commands


def test_reading_commands_back() -> None:
    line = "::warning file=a%2Cb%3Ac%25 d,line=3,title=RV1 x::50%25 done%0Anext: a, b\n"
    assert read_commands(line) == [("warning", {"file": "a,b:c% d", "line": "3", "title": "RV1 x"},
                                    "50% done\nnext: a, b")]


# -- hostile paths through the command line ------------------------------------------------------------------------

CODE = "import time\n\nimport requests\n\n\nasync def fetch():\n    time.sleep(1)\n    return requests.get(URL)\n"
HOSTILE_NAMES = (
    "with space/ünïcode vïews.py",
    "hash#dir/a,b:c.py",
    "percent/100% done %41%0A.py",
    "ctl\x1b[31m\tname\r.py",
    "日本/モジュール.py",
)
BROKEN_NAME = "broken\nline\x07.py"  # a file name with control characters, in a notice's message


@pytest.fixture(scope="module")
def hostile_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    for name in HOSTILE_NAMES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(CODE, encoding="utf-8")
    (root / BROKEN_NAME).write_text("def broken(:\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def hostile_outputs(hostile_project: Path) -> dict[str, subprocess.CompletedProcess]:
    common = ("scan", ".", "--select", "ALL", "--no-progress", "--no-cache", "--format")
    return run_all({fmt: ((*common, fmt), hostile_project) for fmt in ("json", "sarif", "github")})


def expected_paths() -> set[str]:
    return set(HOSTILE_NAMES)


def test_json_holds_the_paths_exactly(hostile_outputs: dict[str, subprocess.CompletedProcess]) -> None:
    completed = hostile_outputs["json"]
    assert completed.returncode == 1, completed.stderr
    document = json.loads(completed.stdout)
    assert {finding["path"] for finding in document["findings"]} == expected_paths()
    assert [notice["path"] for notice in document["notices"]] == [BROKEN_NAME]


def test_sarif_is_valid_and_its_uris_decode_to_the_paths(hostile_outputs: dict[str, subprocess.CompletedProcess]) -> None:
    completed = hostile_outputs["sarif"]
    assert completed.returncode == 1, completed.stderr
    log = json.loads(completed.stdout)
    validate(log)
    run = log["runs"][0]
    uris = {result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for result in run["results"]}
    assert {unquote(uri) for uri in uris} == expected_paths()
    notifications = run["invocations"][0]["toolExecutionNotifications"]
    assert [unquote(n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for n in notifications] == [
        BROKEN_NAME]
    assert notifications[0]["message"]["text"].startswith(BROKEN_NAME + ": syntax error")


def test_github_commands_unescape_to_the_paths(hostile_outputs: dict[str, subprocess.CompletedProcess]) -> None:
    completed = hostile_outputs["github"]
    assert completed.returncode == 1, completed.stderr
    commands = read_commands(completed.stdout)
    findings = json.loads(hostile_outputs["json"].stdout)["findings"]
    annotations = [(properties["file"], int(properties["line"]), message)
                   for name, properties, message in commands if name != "warning" or "RV" in properties["title"]]
    assert annotations == [(f["path"], f["range"]["start"]["line"], f["message"]) for f in findings]
    assert [properties["file"] for _, properties, _ in commands if "RV" not in properties["title"]] == [BROKEN_NAME]


# -- any text, through the reporters -----------------------------------------------------------------------------------

# Paths as discovery makes them: no NUL (no file name holds one) and no surrogates (undecodable bytes are shown as
# "\xff"); messages may hold anything a check could quote, control characters included.
path_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00/"), min_size=1, max_size=12)
paths = st.lists(path_text, min_size=1, max_size=3).map("/".join)
messages = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


def finding(path: str, message: str, note: str) -> Finding:
    spec = CATALOG["RV201"]
    span = Span(3, 5, 3, 9)
    return Finding(path=path, span=span, rule_id=spec.id, rule_name=spec.name, severity=Severity.WARNING,
                   message=message, snippet=("x = 1",), line_hash="abc:1",
                   related=(Related(path, Span(1, 1, 1, 2), note),))


@settings(max_examples=150, derandomize=True, database=None, deadline=None)
@given(path=paths, message=messages, note=messages, notice_message=messages)
def test_reporters_escape_any_text(path: str, message: str, note: str, notice_message: str) -> None:
    result = ScanResult(root="/work/some project#1/%20", findings=[finding(path, message, note)],
                        notices=[Notice(path, NoticeKind.SYNTAX_ERROR, notice_message, line=2)],
                        files_scanned=1, elapsed=0.0)
    document = json.loads(render_json(result, tool_version=__version__))
    assert (document["findings"][0]["path"], document["findings"][0]["message"]) == (path, message)
    assert document["findings"][0]["related"][0]["message"] == note
    assert document["notices"][0]["message"] == notice_message

    log = json.loads(render_sarif(result, RULES, tool_version=__version__))
    validate(log)
    run = log["runs"][0]
    location = run["results"][0]["locations"][0]["physicalLocation"]
    assert unquote(location["artifactLocation"]["uri"]) == path
    assert run["results"][0]["message"]["text"] == message
    assert run["results"][0]["relatedLocations"][0]["message"]["text"] == note
    assert run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"] == f"{path}: {notice_message}"

    (_, properties, text), (_, notice_properties, notice_text) = read_commands(render_github(result))
    assert (properties["file"], properties["line"], properties["col"], text) == (path, "3", "5", message)
    assert properties["title"] == "RV201 blocking-call-in-async"
    assert (notice_properties["file"], notice_properties["line"], notice_text) == (
        path, "2", f"syntax-error: {notice_message}")


# -- secrets ---------------------------------------------------------------------------------------------------------

# Made for the tests in the providers' formats (the GitHub token with a valid checksum, see test_rv301); never issued.
GITHUB_TOKEN = "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"
AWS_KEY_ID = "AKIA32AOZ6G5BHRMEQIZ"
AWS_SECRET = "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"
PEM_BODY = ("PGI0W+bevoDqs3qzlHKEjpTNXfx+Fx6x1gbRg8INhaPnVSS6GKLEodms+Cj8H0/Ry4qYiN",
            "54TY5XLzo9A4SzIKCBP+qVbTQdaoaGni6cZMtZk2Yi7RIzPWrgl4WtyL7YEW+tmlckl4GV")
DB_PASSWORD = "v6mJYUrzRxm7ku"
SECRETS = (GITHUB_TOKEN, AWS_KEY_ID, AWS_SECRET, *PEM_BODY, DB_PASSWORD)
SECRETS_MODULE = f'''"""Deployment settings with credentials pasted in."""
import logging

GITHUB_TOKEN = "{GITHUB_TOKEN}"
AWS_ACCESS_KEY_ID = "{AWS_KEY_ID}"
AWS_SECRET_ACCESS_KEY = "{AWS_SECRET}"
DEPLOY_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\\n"
    "{PEM_BODY[0]}\\n"
    "{PEM_BODY[1]}\\n"
    "-----END RSA PRIVATE KEY-----\\n"
)
DATABASES = {{"default": {{"PASSWORD": "{DB_PASSWORD}"}}}}
logging.info("token %s", "{GITHUB_TOKEN}")
'''


def leaks(secret: str, text: str) -> list[str]:
    """Any 8 characters of ``secret`` past the 4 a redacted form may show."""
    return sorted({secret[i : i + 8] for i in range(4, len(secret) - 7) if secret[i : i + 8] in text})


@pytest.fixture(scope="module")
def secret_outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, subprocess.CompletedProcess], Path]:
    root = tmp_path_factory.mktemp("secrets")
    project = root / "project"
    (project / "deploy").mkdir(parents=True)
    (project / "deploy" / "settings.py").write_text(SECRETS_MODULE, encoding="utf-8")
    common = ("--select", "ALL", "--no-progress", "--cache-dir", str(root / "cache"))
    commands: dict[str, tuple[tuple[str, ...], Path]] = {
        fmt: (("scan", ".", *common, "--format", fmt), project) for fmt in ("text", "json", "sarif", "github")
    }
    commands["baseline"] = (("baseline", ".", "--select", "ALL", "--no-progress", "-o", str(root / "baseline.json")),
                            project)
    return run_all(commands), root


def test_secrets_are_reported(secret_outputs: tuple[dict[str, subprocess.CompletedProcess], Path]) -> None:
    outputs, _ = secret_outputs
    findings = json.loads(outputs["json"].stdout)["findings"]
    lines = {f["range"]["start"]["line"] for f in findings if f["rule"] == "RV301"}
    assert {4, 5, 6, 8, 13} <= lines, findings
    messages = " ".join(f["message"] for f in findings)
    assert "GitHub token" in messages and "AWS" in messages and "private key" in messages


@pytest.mark.parametrize("output", ["text", "json", "sarif", "github", "baseline"])
def test_no_secret_in_any_output(output: str,
                                 secret_outputs: tuple[dict[str, subprocess.CompletedProcess], Path]) -> None:
    outputs, root = secret_outputs
    completed = outputs[output]
    assert completed.returncode in (0, 1), completed.stderr
    text = completed.stdout + completed.stderr
    if output == "baseline":
        text += (root / "baseline.json").read_text(encoding="utf-8")
    for secret in SECRETS:
        assert not leaks(secret, text), (secret[:4], output)


def test_no_secret_in_the_cache(secret_outputs: tuple[dict[str, subprocess.CompletedProcess], Path]) -> None:
    _, root = secret_outputs
    files = [path for path in (root / "cache").rglob("*") if path.is_file()]
    assert any(path.suffix == ".json" for path in files), files  # the scans did write entries
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        # JSON escapes "/" nowhere and "+" nowhere, but check the escaped form of every secret too.
        for secret in SECRETS:
            assert not leaks(secret, text) and not leaks(json.dumps(secret)[1:-1], text), (secret[:4], path)


# -- determinism -----------------------------------------------------------------------------------------------------

DETERMINISM_SOURCES = ("django_shop", "async_app", "secrets_app")


@pytest.fixture(scope="module")
def repeated_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """JSON (standard output) and SARIF (``--sarif-output``) of the same project scanned five ways. The cache runs
    go in order (cold, then warm); the rest run alongside them."""
    root = tmp_path_factory.mktemp("determinism")
    project = root / "project"
    for name in DETERMINISM_SOURCES:
        shutil.copytree(FIXTURES / name, project / name)

    def scan(name: str, *extra: str) -> tuple[tuple[str, ...], Path]:
        return ("scan", ".", "--select", "ALL", "--no-progress", "--format", "json",
                "--sarif-output", str(root / f"{name}.sarif"), *extra), project

    cache = ("--cache-dir", str(root / "cache"))
    completed = run_all({"cold-j1": scan("cold-j1", "-j1", *cache),
                         "first-no-cache-j1": scan("first-no-cache-j1", "-j1", "--no-cache"),
                         "no-cache-j2": scan("no-cache-j2", "-j2", "--no-cache")})
    completed |= run_all({"warm-j2": scan("warm-j2", "-j2", *cache),
                          "second-no-cache-j1": scan("second-no-cache-j1", "-j1", "--no-cache")})
    outputs: dict[str, dict[str, str]] = {"json": {}, "sarif": {}}
    for name, run in completed.items():
        assert run.returncode == 1, run.stderr
        outputs["json"][name] = run.stdout
        outputs["sarif"][name] = (root / f"{name}.sarif").read_text(encoding="utf-8")
    return outputs


def test_json_is_byte_identical(repeated_runs: dict[str, dict[str, str]]) -> None:
    runs = repeated_runs["json"]
    first = json.loads(runs["first-no-cache-j1"])
    assert first["findings"] and first["summary"]["files_scanned"] >= 20
    assert {name: text == runs["first-no-cache-j1"] for name, text in runs.items()} == dict.fromkeys(runs, True)


def test_sarif_is_byte_identical(repeated_runs: dict[str, dict[str, str]]) -> None:
    runs = repeated_runs["sarif"]
    assert json.loads(runs["first-no-cache-j1"])["runs"][0]["results"]
    assert {name: text == runs["first-no-cache-j1"] for name, text in runs.items()} == dict.fromkeys(runs, True)
