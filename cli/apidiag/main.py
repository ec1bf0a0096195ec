"""The `apidiag` command.

    apidiag run GET https://… -H 'Accept: application/json' --key-env KAIKO_KEY --share 7d
    apidiag run 'curl https://… -H …'
    apidiag diagnose --har recording.har
    apidiag log --class 5xx --since 1h
    apidiag collections
    apidiag run --saved "Recent trades" --env "Kaiko production"
    apidiag run --collection "Market data" --env sandbox

Exit codes, for CI jobs: 0 success (no error status), 1 client error (4xx), 2 server error
(5xx), 3 network failure (no response), 4 usage or authentication error of the CLI itself.
"""

import json
import os
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import click

from apidiag.client import Client, UsageError

OK, CLIENT_ERROR, SERVER_ERROR, NETWORK_FAILURE, USAGE = 0, 1, 2, 3, 4
WAIT_PER_CALL = 30  # what the API holds an answer for, at most
LIFETIMES = ("1h", "1d", "7d", "30d", "never")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def say(text: str) -> None:
    """A line on standard output. When the reader has gone (`apidiag … | head`), the rest is
    dropped quietly and the command still exits with its verdict's code."""
    try:
        click.echo(text)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def fail(message: str) -> NoReturn:
    click.echo(f"apidiag: {message}", err=True)
    sys.exit(USAGE)


class Context:
    def __init__(self, url: str | None, token: str | None) -> None:
        self.url = url
        self.token = token

    def client(self) -> Client:
        if not self.url:
            fail(
                "no dashboard address: set APIDIAG_URL (e.g. http://127.0.0.1:8000) or pass --url."
            )
        if not re.match(r"^https?://[^/]+", self.url):
            fail(f"APIDIAG_URL must start with http:// or https://, not {self.url[:60]!r}.")
        if not self.token:
            fail(
                "no API token: set APIDIAG_TOKEN or pass --token. Make one on the dashboard's "
                "Tokens page."
            )
        return Client(self.url, self.token)


@click.group()
@click.option("--url", envvar="APIDIAG_URL", help="The dashboard's address (APIDIAG_URL).")
@click.option(
    "--token", envvar="APIDIAG_TOKEN", help="A personal API token (APIDIAG_TOKEN).",
    show_envvar=False,
)  # fmt: skip
@click.version_option(package_name="apidiag")
@click.pass_context
def cli(ctx: click.Context, url: str | None, token: str | None) -> None:
    """Diagnose HTTP API calls with the API diagnostics dashboard."""
    ctx.obj = Context(url, token)


def exit_code_of(run: dict[str, Any]) -> int:
    result = run.get("result") or {}
    if result.get("outcome") == "failure":
        return NETWORK_FAILURE
    status = result.get("status") or 0
    if status >= 500:
        return SERVER_ERROR
    if status >= 400:
        return CLIENT_ERROR
    return OK


def wait_for(client: Client, run: dict[str, Any], seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while not run.get("finished"):
        left = deadline - time.monotonic()
        if left <= 0:
            fail(
                f"the run is still {run.get('status')} after {seconds:.0f} s (is a worker "
                f"running?): {run.get('url')}"
            )
        run = client.json(
            "GET", f"/runs/{run['id']}", params={"wait": max(1, min(WAIT_PER_CALL, int(left)))}
        )
    return run


def share(client: Client, run: dict[str, Any], lifetime: str, team_only: bool) -> dict[str, Any]:
    return client.json(
        "POST",
        f"/runs/{run['id']}/share-links",
        json={"visibility": "team" if team_only else "public", "lifetime": lifetime},
    )


def verdict_lines(run: dict[str, Any]) -> list[str]:
    """The verdict for people: status and diagnosis, the likely cause and its evidence,
    what to do, the run's page."""
    result = run.get("result") or {}
    diagnosis = run.get("diagnosis") or {}
    request = run.get("request") or {}
    lines = []
    if result.get("outcome") == "failure":
        head = f"No response ({result.get('failure_kind') or 'failure'})"
    else:
        head = f"{result.get('status')} {result.get('reason') or ''}".strip()
    title = diagnosis.get("title") or ""
    code = diagnosis.get("code") or ""
    lines.append(f"{head} · {title} [{code}]" if title else head)
    lines.append(f"  {request.get('method', '')} {request.get('url', '')}")
    if run.get("recorded"):
        lines.append("  (submitted as recorded: nothing was sent)")
    meaning = diagnosis.get("api_meaning") or diagnosis.get("explanation")
    if meaning:
        lines.append(f"  {diagnosis.get('api_name') or 'It'} says: {meaning}")
    causes = diagnosis.get("causes") or []
    if causes:
        cause = causes[0]
        lines.append(f"Most likely: {cause.get('title')} [{cause.get('code')}]")
        if cause.get("explanation"):
            lines.append(f"  {cause['explanation']}")
        for evidence in cause.get("evidence") or []:
            value = f": {evidence['value']}" if evidence.get("value") else ""
            note = f" ({evidence['note']})" if evidence.get("note") else ""
            lines.append(f"  - {evidence.get('source')} {evidence.get('name')}{value}{note}")
    playbooks = diagnosis.get("playbooks") or []
    if playbooks:
        lines.append("What to do:")
        for playbook in playbooks[:3]:
            lines.append(f"  - {playbook.get('title')}: {playbook.get('url')}")
    if diagnosis.get("wait_seconds"):
        lines.append(f"Wait {diagnosis['wait_seconds']} s before trying again.")
    for warning in run.get("warnings") or []:
        lines.append(f"Note: {warning}")
    lines.append(f"Run: {run.get('url')}")
    return lines


def finish(run: dict[str, Any], link: dict[str, Any] | None, as_json: bool) -> NoReturn:
    if as_json:
        shown = dict(run)
        if link is not None:
            shown["share_link"] = link
        say(json.dumps(shown, indent=2))
    else:
        for line in verdict_lines(run):
            say(line)
        if link is not None:
            expiry = link.get("expires_at") or "never"
            say(f"Share: {link['url']} ({link['visibility']}, until {expiry})")
    sys.exit(exit_code_of(run))


def parse_header(text: str) -> dict[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        fail(f"-H {text!r} is not a header: write it as 'Name: value'.")
    return {"name": name.strip(), "value": value.strip()}


def read_key(variable: str | None) -> str:
    if not variable:
        return ""
    value = os.environ.get(variable, "")
    if not value:
        fail(f"--key-env {variable}: the environment variable {variable} is not set or empty.")
    return value


@cli.command()
@click.argument("words", nargs=-1)
@click.option("--saved", metavar="NAME", help="Run the team's saved request of this name (or id).")
@click.option(
    "--collection",
    metavar="NAME",
    help="With --saved: the collection it is in. Alone: run the whole collection.",
)
@click.option(
    "--env",
    metavar="NAME",
    default="",
    help="The team's environment whose values fill the {{variables}} (not with a cURL command).",
)
@click.option("-H", "--header", "headers", multiple=True, help="'Name: value', repeatable.")
@click.option("-d", "--data", "body", default="", help="The request body.")
@click.option(
    "--key-env", metavar="VAR", help="Send the API key held in this environment variable."
)
@click.option(
    "--vault", "vault_name", metavar="NAME", help="Send the team vault's secret NAME as the key."
)
@click.option("--timeout", type=float, help="Seconds (the dashboard's default when unset).")
@click.option("--profile", default="", help="API profile slug (default: from the URL).")
@click.option("-L", "--follow", is_flag=True, help="Follow redirects.")
@click.option(
    "--save",
    "save_to",
    metavar="COLLECTION",
    help="Keep the request in this collection (made if the team has none of that name).",
)
@click.option("--name", "save_name", default="", help="With --save: the saved request's name.")
@click.option("--share", "share_for", type=click.Choice(LIFETIMES), help="Make a share link.")
@click.option("--team-only", is_flag=True, help="The share link opens for team members only.")
@click.option("--wait", "wait_seconds", default=120.0, show_default=True,
              help="Seconds to wait for the result.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
@click.pass_obj
def run(
    obj: Context,
    words: tuple[str, ...],
    saved: str | None,
    collection: str | None,
    env: str,
    headers: tuple[str, ...],
    body: str,
    key_env: str | None,
    vault_name: str | None,
    timeout: float | None,
    profile: str,
    follow: bool,
    save_to: str | None,
    save_name: str,
    share_for: str | None,
    team_only: bool,
    wait_seconds: float,
    as_json: bool,
) -> None:
    """Send a request and print its diagnosis: `run METHOD URL`, `run 'curl …'`,
    `run --saved NAME --env NAME` or `run --collection NAME --env NAME`."""
    if saved or collection:
        if words or headers or body or key_env or vault_name or save_to:
            fail(
                "--saved and --collection take no URL, headers, body, key or --save: "
                "they are saved."
            )
        run_library(obj, saved, collection or "", env, wait_seconds, as_json)
    if not words:
        fail("give METHOD URL, a URL, one quoted cURL command, --saved NAME or --collection NAME.")
    if key_env and vault_name:
        fail("give the key one way: --key-env or --vault.")
    api_key = f"{{{{vault:{vault_name}}}}}" if vault_name else read_key(key_env)
    if len(words) == 1 and words[0].lstrip().lower().startswith(("curl ", "curl.exe ")):
        if headers or body:
            fail("with a cURL command, put headers and the body in the command itself.")
        if env:
            fail("--env goes with METHOD URL, --saved or --collection, not a cURL command.")
        payload: dict[str, Any] = {"command": words[0], "api_key": api_key, "profile": profile}
        if timeout:
            payload["timeout"] = timeout
        path = "/runs/curl"
    else:
        if len(words) == 1:
            method, url = "GET", words[0]
        elif len(words) == 2:
            method, url = words[0].upper(), words[1]
        else:
            fail("give METHOD URL, a URL, or one quoted cURL command.")
        if method not in METHODS:
            fail(f"{method!r} is not a method; use one of {', '.join(METHODS)}.")
        payload = {
            "method": method,
            "url": url,
            "headers": [parse_header(h) for h in headers],
            "body": body,
            "api_key": api_key,
            "profile": profile,
            "follow_redirects": follow,
            "env": env,
        }
        if timeout:
            payload["timeout"] = timeout
        path = "/runs"
    client = obj.client()
    try:
        first = client.json(
            "POST", path, json=payload, params={"wait": int(min(wait_seconds, WAIT_PER_CALL))}
        )
        done = wait_for(client, first, wait_seconds)
        link = share(client, done, share_for, team_only) if share_for else None
        if save_to:
            kept = client.json(
                "POST", f"/runs/{done['id']}/save", json={"collection": save_to, "name": save_name}
            )
            click.echo(f"Saved as “{kept['name']}” in “{kept['collection']}”.", err=True)
    except UsageError as error:
        fail(str(error))
    finish(done, link, as_json)


def run_library(
    obj: Context, saved: str | None, collection: str, env: str, wait_seconds: float, as_json: bool
) -> NoReturn:
    """A saved request (then its verdict) or a whole collection (then one line a request)."""
    client = obj.client()
    try:
        if saved:
            payload = {"saved": saved, "collection": collection, "env": env}
            first = client.json("POST", "/saved-requests/run", json=payload,
                                params={"wait": int(min(wait_seconds, WAIT_PER_CALL))})  # fmt: skip
            finish(wait_for(client, first, wait_seconds), None, as_json)
        summary = client.json(
            "POST", "/collections/run", json={"collection": collection, "env": env}
        )
        runs = [wait_for(client, one, wait_seconds) for one in summary["runs"]]
    except UsageError as error:
        fail(str(error))
    summary["runs"], summary["finished"] = runs, True
    if as_json:
        say(json.dumps(summary, indent=2))
    else:
        where = f" in {summary['environment']}" if summary.get("environment") else ""
        say(f"{summary['collection']}{where}: {len(runs)} runs, {summary['url']}")
        for one in runs:
            say(verdict_lines(one)[0] + f"  {(one.get('request') or {}).get('url', '')}")
        for skipped in summary["skipped"]:
            say(f"Not sent: {skipped['name']}: {skipped['reason']}")
    codes = [exit_code_of(one) for one in runs]
    if summary["skipped"]:
        codes.append(USAGE)
    sys.exit(max(codes, default=OK))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
@click.pass_obj
def collections(obj: Context, as_json: bool) -> None:
    """The team's collections, their saved requests, and the environments."""
    client = obj.client()
    try:
        found = client.json("GET", "/collections")
        environments = client.json("GET", "/environments")
    except UsageError as error:
        fail(str(error))
    if as_json:
        say(json.dumps({"collections": found, "environments": environments}, indent=2))
        return
    for collection in found:
        say(f"{collection['name']}  ({len(collection['requests'])} requests)")
        for saved in collection["requests"]:
            folder = f"{saved['folder']}/" if saved["folder"] else ""
            say(f"  {folder}{saved['name']}: {saved['method']} {saved['url']}")
    if environments:
        say("Environments: " + ", ".join(e["name"] for e in environments))


@cli.command()
@click.option("--har", "har_path", required=True, type=click.Path(dir_okay=False),
              help="A HAR file (DevTools, or the dashboard's export).")  # fmt: skip
@click.option("--profile", default="", help="API profile slug (default: from each URL).")
@click.option("--share", "share_for", type=click.Choice(LIFETIMES), help="Share each run.")
@click.option("--team-only", is_flag=True, help="Share links open for team members only.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON (a list).")
@click.pass_obj
def diagnose(
    obj: Context,
    har_path: str,
    profile: str,
    share_for: str | None,
    team_only: bool,
    as_json: bool,
) -> None:
    """Diagnose the exchanges of a HAR file as recorded, without sending anything."""
    try:
        har = json.loads(Path(har_path).read_text(encoding="utf-8"))
        entries = har["log"]["entries"]
        if not isinstance(entries, list):
            raise TypeError
    except FileNotFoundError:
        fail(f"{har_path}: no such file.")
    except (ValueError, KeyError, TypeError):
        fail(f"{har_path} is not a HAR file (JSON with log.entries).")
    if not entries:
        fail(f"{har_path} has no entries.")
    client = obj.client()
    runs = []
    worst = OK
    for entry in entries:
        try:
            run = client.json("POST", "/diagnose", json={"har_entry": entry, "profile": profile})
            if share_for:
                run["share_link"] = share(client, run, share_for, team_only)
        except UsageError as error:
            fail(str(error))
        runs.append(run)
        worst = max(worst, exit_code_of(run))
    if as_json:
        say(json.dumps(runs, indent=2))
        sys.exit(worst)
    for run in runs:
        result = run.get("result") or {}
        diagnosis = run.get("diagnosis") or {}
        request = run.get("request") or {}
        status = result.get("status") if result.get("outcome") == "response" else "—"
        say(
            f"{status} {request.get('method')} {request.get('url')}\n"
            f"    {diagnosis.get('code')}: {diagnosis.get('title')}\n    Run: {run.get('url')}"
        )
        if run.get("share_link"):
            say(f"    Share: {run['share_link']['url']}")
    sys.exit(worst)


def since_value(text: str) -> str:
    """`1h`, `30m`, `2d` → the UTC time that long ago; a date-time is passed on as it is."""
    match = re.fullmatch(r"(\d+)\s*([mhd])", text.strip())
    if not match:
        return text
    amount, unit = int(match.group(1)), match.group(2)
    delta = {"m": timedelta(minutes=amount), "h": timedelta(hours=amount)}.get(
        unit, timedelta(days=amount)
    )
    return (datetime.now(UTC) - delta).strftime("%Y-%m-%dT%H:%M")


@cli.command()
@click.option("--class", "status_class", type=click.Choice(["2xx", "3xx", "4xx", "5xx", "network"]))
@click.option("--status", help="An exact HTTP status, e.g. 429.")
@click.option("--diagnosis", help="A diagnosis code or its start, e.g. kaiko.401.")
@click.option("--method")
@click.option("--host")
@click.option("--member", help="A username.")
@click.option("-q", "--search", help="Search the URL and the diagnosis title.")
@click.option("--since", help="1h, 30m, 2d, or a UTC date-time (2026-01-31T09:00).")
@click.option("--until", help="A UTC date-time.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 200))
@click.option("--before", metavar="CURSOR", help="The next page: the cursor the last one gave.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
@click.pass_obj
def log(
    obj: Context,
    status_class: str | None,
    status: str | None,
    diagnosis: str | None,
    method: str | None,
    host: str | None,
    member: str | None,
    search: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    before: str | None,
    as_json: bool,
) -> None:
    """The team log, newest first, as a table."""
    params = {
        "class": status_class, "status": status, "diagnosis": diagnosis, "method": method,
        "host": host, "member": member, "q": search, "until": until, "limit": limit,
        "before": before,
        "since": since_value(since) if since else None,
    }  # fmt: skip
    client = obj.client()
    try:
        page = client.json(
            "GET", "/runs", params={k: v for k, v in params.items() if v not in (None, "")}
        )
    except UsageError as error:
        fail(str(error))
    if as_json:
        say(json.dumps(page, indent=2))
        return
    rows = [("WHEN (UTC)", "WHO", "METHOD", "STATUS", "HOST", "DIAGNOSIS", "MS")]
    for item in page["runs"]:
        when = item["created_at"][:19].replace("T", " ")
        shown = item["response_status"] or ("no response" if item["outcome"] == "failure" else "")
        duration = f"{item['duration_ms']:.0f}" if item.get("duration_ms") is not None else ""
        rows.append(
            (when, item.get("created_by") or "", item["method"], str(shown or item["status"]),
             item["host"], item["diagnosis_code"], duration)
        )  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        say("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    if not page["runs"]:
        say("(no runs match)")
    elif page.get("next_cursor"):
        say(f"(more: add --before {page['next_cursor']} for the next page)")


def main() -> None:
    """The console script: click's own usage errors exit 4 too (click would use 2, which
    here means a server error)."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(USAGE)
    except click.exceptions.Abort:
        click.echo("apidiag: aborted.", err=True)
        sys.exit(USAGE)
