"""lipflow's command line: each command parses its options, :mod:`.build` wires the parts,
and the library runs them; :mod:`.environment` is the one place the environment is read.

Errors are presented here and nowhere else: a LipflowError prints its own message and exits
with its own code; anything else is reported as a bug in one line (``LIPFLOW_DEBUG=1`` shows the
traceback). Heavy modules are imported inside commands so ``lipflow --version`` starts fast.

Exit codes: 0 success; 1 invalid recipe or request, or a plan with errors (or ``run`` answered no); 2 usage or unreadable
input (a saved plan given to ``validate`` or ``plan``; for ``run``: a missing API key variable, a
changed recipe behind a saved plan, an out directory holding another run, its question on a
terminal left unanswered as the input ended); 3 over budget or unpriced work refused (``plan`` over the
recipe's budget; ``run``: nothing was submitted, or the budget stopped submitting mid-run);
4 some jobs of a run failed or are ambiguous (the report says which; ``--resume`` retries them);
5 provider error; 70 internal error; 130 interrupted (``run``: the journal is settled and the
report prints the ``--resume`` command).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import io
import json
import math
import os
import stat
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click

from lipflow import __version__
from lipflow.cli import environment
from lipflow.errors import BudgetExceeded, InputError, LipflowError, RecipeError, UsageError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_INTERNAL = 70


def _presenting_errors(func: F) -> F:
    """Turn lipflow's errors into a message and an exit code; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LipflowError as exc:
            click.echo(exc.format(), err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # the last line of defence: a bug, said in one line
            if environment.debug():
                raise
            click.echo(
                f"internal error (a bug in lipflow, please report it): {type(exc).__name__}: {exc}",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="lipflow")
@click.pass_context
@_presenting_errors  # it loads the providers: Ctrl-C there is an interrupt, not click's "Aborted!"
def cli(ctx: click.Context) -> None:
    """Declare lip-sync and video-generation jobs in YAML; validate, plan, run and test them offline."""
    env = environment.environ()
    environment.load_providers(env)
    _hide_keys(ctx, env)


def _confirmed(question: str) -> bool:
    """Ask ``question`` on the terminal, default no. Unlike click.confirm, which turns both into
    its own "Aborted!" and exit 1, Ctrl-C stays an interrupt (130, 'interrupted') and an input
    that ends unanswered says that nothing was submitted and how not to be asked."""
    while True:
        click.echo(f"{question} [y/N]: ", nl=False, err=True)
        try:
            answer = input().strip().lower()
        except KeyboardInterrupt:
            click.echo(err=True)  # the prompt's line is left open: 'interrupted' gets its own
            raise
        except EOFError:
            click.echo(err=True)
            raise UsageError(
                f"no answer to {question!r}: the input ended, so nothing was submitted; "
                "pass --yes to submit without being asked"
            ) from None
        if answer in ("", "n", "no"):
            return False
        if answer in ("y", "yes"):
            return True
        click.echo("Please answer y or n.", err=True)


def _hide_keys(ctx: click.Context, env: Mapping[str, str]) -> None:
    """Scrub every provider key the environment holds out of all this command prints, in any
    encoding: a recipe (a webhook's token, a text) or a base URL may hold one, and a plan
    printed in a CI log must not show it."""
    keys = environment.keys_set(env)
    if not keys:
        return
    from lipflow.secrets import ScrubbedStream, Secrets

    secrets = Secrets.shown(keys)
    if not secrets:  # keys too short to tell from ordinary text
        return
    shown = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = ScrubbedStream(shown[0], secrets), ScrubbedStream(shown[1], secrets)

    def restore() -> None:
        sys.stdout, sys.stderr = shown

    ctx.call_on_close(restore)


def _write_atomically(
    path: str, write: Callable[[TextIO], None], *, shown: str | None = None
) -> None:
    """Write a file through ``write(fh)`` into a temporary name, then rename it into place;
    errors name it as ``shown`` (as the user wrote it) when given."""
    tmp = f"{path}.tmp.{os.getpid()}"
    created = False
    try:
        with open(tmp, "x", encoding="utf-8") as fh:  # "x": never through a file or link there
            created = True
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        created = False
    except FileExistsError:
        raise InputError(
            f"cannot write: {tmp} is in the way; remove it", path=shown or path
        ) from None
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", path=shown or path) from None
    finally:
        if created:
            os.unlink(tmp)


_NOT_REGULAR = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _file_name(option: str, path: str) -> None:
    """Refuse a file name that names no file: empty, or ``-`` (stdout by convention)."""
    if path == "":
        raise UsageError(f"{option} needs a file name, not an empty string")
    if path == "-":
        raise UsageError(
            f"{option} saves to a file, not to stdout (-): name a file, or use --format json "
            "to print the plan on stdout"
        )


def _out_file(path: str, keep: Mapping[str, str]) -> str:
    """Where ``--out PATH`` may write a file, checked before anything is written: the file a
    rename replaces is lost, so it must not be one of ``keep`` (what each is, by path: the
    recipe, its input files) nor a directory, pipe, socket or device, which renaming a plain
    file over would destroy. A symlink is followed: its target is replaced, the link stays."""
    _file_name("--out", path)
    target = os.path.realpath(path)
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", path=path) from None
    if mode is not None:
        for test, kind in _NOT_REGULAR:
            if test(mode):
                raise InputError(
                    f"is {kind}, not a regular file: --out would put a file in its place; "
                    "name a file",
                    path=path,
                )
    for kept, what in keep.items():
        same = target == os.path.realpath(kept)
        if not same and mode is not None:
            with contextlib.suppress(OSError):
                same = os.path.samefile(target, kept)
        if same:
            raise InputError(
                f"is {what} ({kept}): --out would replace it with the plan; name another file",
                path=path,
            )
    return target


class _EchoBuffer(io.StringIO):
    """A text sink that hands what it holds to ``click.echo`` every 64 KB and on close (with the
    final newline ``click.echo`` adds), so a large document is never held whole."""

    def write(self, text: str) -> int:
        written = super().write(text)
        if self.tell() >= 65536:
            # Up to the last line break: a JSON string holds none, so no value is cut in two
            # (the scrubbing of keys sees each whole).
            held = self.getvalue()
            cut = held.rfind("\n") + 1
            if cut:
                click.echo(held[:cut], nl=False)
                self.seek(0)
                self.truncate()
                super().write(held[cut:])
        return written

    def close(self) -> None:
        if not self.closed:
            click.echo(self.getvalue())
        super().close()


FORMAT_TEXT_JSON = click.Choice(["text", "json"])


def _max_jobs_option(func: F) -> F:
    """``--max-jobs``: the bound on a plan's size, so a typo'd matrix cannot plan for hours."""
    from lipflow.plan.limits import DEFAULT_MAX_JOBS, MAX_JOBS_CEILING

    return click.option(
        "--max-jobs",
        type=click.IntRange(1, MAX_JOBS_CEILING),
        default=DEFAULT_MAX_JOBS,
        show_default=True,
        help="Most jobs one plan may hold; a matrix or fan-out past it is an error.",
    )(func)


@cli.command()
@click.argument("recipes", nargs=-1, required=True, metavar="RECIPE...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="github prints workflow annotations.",
)
@_max_jobs_option
@_presenting_errors
def validate(recipes: tuple[str, ...], fmt: str, max_jobs: int) -> None:
    """Check recipes and every provider request they compile to; report all problems at once.

    Exit 0 when valid (warnings allowed), 1 when any problem is an error, 2 when a file cannot be read (or is a saved plan: `lipflow run` takes that).
    """
    from lipflow.cli.build import read_as_a_recipe
    from lipflow.plan import plan_file
    from lipflow.problems import UNREADABLE, Location, Problem, exit_code_of
    from lipflow.reporting.problems import report_problems

    problems: list[Problem] = []
    unreadable = False
    for path in recipes:
        try:
            with read_as_a_recipe(path, "validate"):
                problems.extend(
                    plan_file(path, env=environment.environ(), max_jobs=max_jobs).problems
                )
        except RecipeError as exc:
            problems.extend(exc.problems)
        except InputError as exc:
            # Reported with the other problems, so no format can call an unreadable file valid.
            unreadable = True
            problems.append(
                Problem(
                    message=exc.message,
                    location=Location(exc.path or path, exc.line, exc.column),
                    code=UNREADABLE,
                )
            )
    click.echo(report_problems(fmt, problems, recipes))
    if unreadable:
        sys.exit(InputError.exit_code)
    sys.exit(exit_code_of(problems))


@cli.command()
@click.argument("recipe")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
    help="csv only with --lines; a text cell starting with = + - @, a tab or CR gets a leading ' "
    "so a spreadsheet shows it as text, not a formula.",
)
@click.option(
    "--out",
    "out_path",
    metavar="PLAN.json",
    help="Save the plan for `lipflow run PLAN.json`: a new file, or a regular file replaced whole "
    "(a symlink's target is replaced, the link kept). The recipe, its input files, a directory, "
    "pipe or device are refused. Not with --lines.",
)
@click.option("--no-requests", is_flag=True, help="Text format: leave out the request bodies.")
@click.option(
    "--lines",
    "show_lines",
    is_flag=True,
    help="Print the dub's lines (cue, speaker, voice, text, slot, estimate, fit, cost) for review.",
)
@_max_jobs_option
@_presenting_errors
def plan(
    recipe: str, fmt: str, out_path: str | None, no_requests: bool, show_lines: bool, max_jobs: int
) -> None:
    """Dry run: every job, the exact requests it sends (keys redacted), and its cost and why."""
    from lipflow.cli.build import read_as_a_recipe
    from lipflow.media import probe_input
    from lipflow.plan import plan_recipe
    from lipflow.problems import exit_code_of
    from lipflow.recipe import load_recipe
    from lipflow.reporting.plans import format_plan_text
    from lipflow.reporting.plans import write_json as write_plan_json
    from lipflow.reporting.problems import report_problems

    if fmt == "csv" and not show_lines:
        raise UsageError("--format csv prints the line table: add --lines")
    if out_path is not None and show_lines:
        raise UsageError("--out saves the plan; --lines prints the line table on stdout")
    if out_path is not None:
        _file_name("--out", out_path)
    with read_as_a_recipe(recipe, "plan"):
        loaded = load_recipe(recipe, partial=True)
    if out_path is not None:
        keep = {recipe: "the recipe"}
        for inp in loaded.inputs.values():
            if inp.path is not None:
                keep.setdefault(inp.path, f"the file of input {inp.name!r}")
        out_target = _out_file(out_path, keep)
    the_plan = plan_recipe(loaded, probe=probe_input, env=environment.environ(), max_jobs=max_jobs)
    errors = [p for p in the_plan.problems if p.is_error]
    if show_lines:
        from lipflow.reporting.lines import report_lines

        click.echo(report_lines(fmt, the_plan))
        if errors:
            sys.exit(exit_code_of(errors))
        return
    if errors:
        click.echo(report_problems("text", the_plan.problems, [recipe]), err=True)
    paid = _already_paid(the_plan)
    if fmt == "json":
        with _EchoBuffer() as stdout:
            write_plan_json(the_plan, stdout, {"already_paid": paid})
    else:
        click.echo(format_plan_text(the_plan, show_requests=not no_requests))
        if paid["jobs"]:
            click.echo(
                f"{paid['jobs']} job(s) already paid for (in the output store, "
                f"{paid['store']}), ${paid['usd']:.4f} not spent again"
            )
        for job in paid["changed"]:
            click.echo(f"changed since it was paid for: {job['id']}: {', '.join(job['fields'])}")
    if errors:
        sys.exit(exit_code_of(errors))
    if out_path is not None:

        def save(fh: TextIO) -> None:
            from lipflow.secrets import ScrubbedStream, Secrets

            kept = ScrubbedStream(fh, Secrets.shown(environment.keys_set(environment.environ())))
            write_plan_json(the_plan, kept)
            kept.write("\n")
            if kept.scrubbed:  # a plan saved with *** in place of the key would send ***
                raise UsageError(
                    f"the plan holds an API key's value (a provider key variable's, in a "
                    f"request): it was not saved to {out_path}. Take the key out of the recipe"
                )

        _write_atomically(out_target, save, shown=out_path)
        click.echo(f"plan saved to {out_path}", err=True)
    from lipflow.run.budget import BudgetCheck

    over = BudgetCheck.of(the_plan).over(
        "`lipflow run` would refuse it. Raise the recipe's budget: or plan fewer jobs."
    )
    if over:
        raise BudgetExceeded(over)


def _already_paid(the_plan: Any) -> dict[str, Any]:
    """Jobs whose outputs the user's output store holds: a run copies them, sending nothing."""
    from lipflow.identity import changed_fields, job_doc
    from lipflow.run.cache import default_store
    from lipflow.run.upgrades import EarlierKeys, stored

    store = default_store(environment.environ())
    keys = {pj.job.id: pj.job.key for pj in the_plan.jobs}
    earlier = EarlierKeys(
        {pj.job.id: pj.job for pj in the_plan.jobs}, the_plan.lines, recipe=the_plan.recipe_name
    )
    held, named = store.held_keys(), store.named_records()  # two listings, not two opens a job
    jobs, usd = 0, 0.0
    changed = []
    for pj in the_plan.jobs:
        base = the_plan.base_urls.get(pj.job.provider, "")
        found = stored(store, pj.job, base, earlier, held=held) if pj.job.key else None
        if found is not None:
            jobs += 1
            usd += found[2] if found[2] is not None else (pj.cost.usd or 0.0)
            continue
        if store.record_name(the_plan.recipe_name, pj.job.id) not in named:
            continue
        last = store.last(the_plan.recipe_name, pj.job.id)
        if last is not None and last[0] != pj.job.key:
            fields = changed_fields(last[1], job_doc(pj.job, keys)) or ["take"]
            changed.append({"id": pj.job.id, "fields": fields})
    return {"jobs": jobs, "usd": round(usd, 6), "store": str(store.root), "changed": changed}


# The largest request body check-request reads: the mock's cap on a request (a body with a
# file inlined as base64 is the largest any provider call here sends).
MAX_REQUEST_BYTES = 64 * 1024 * 1024


class _Finite(click.FloatRange):
    """A FloatRange that refuses nan and inf: click's range lets nan through (no comparison
    with it fails), and a budget, a size or a time of nan or inf is no bound at all."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class _ProviderChoice(click.Choice):  # type: ignore[type-arg]
    """The registered providers, read when the option is first used (not at import)."""

    def __init__(self) -> None:
        super().__init__([])

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from lipflow.providers import registry

        self.choices = registry.names()
        return super().convert(value, param, ctx)

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "PROVIDER"


@cli.command("check-request")
@click.option("--provider", required=True, type=_ProviderChoice())
@click.option(
    "--endpoint",
    metavar="PATH",
    help="API path, e.g. /openapi/v2/video/lip_sync/generate (PixVerse, WaveSpeed).",
)
@click.option(
    "--method",
    default="POST",
    show_default=True,
    type=click.Choice(["GET", "POST", "PUT"], case_sensitive=False),
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
)
@click.argument("file", metavar="FILE")
@_presenting_errors
def check_request(provider: str, endpoint: str | None, method: str, fmt: str, file: str) -> None:
    """Check one raw provider request body (JSON; '-' reads stdin) against the provider's documented rules.

    Exit 0 when valid, 1 when not (each problem on its own line with its JSON path), 2 on usage or I/O errors.
    """
    from lipflow import schemas
    from lipflow.problems import Location
    from lipflow.recipe.source import json_of, read_text, text_of
    from lipflow.reporting.problems import report_problems

    name = "<stdin>" if file == "-" else file
    kind, cap = "request body", MAX_REQUEST_BYTES
    if file == "-":
        raw = sys.stdin.buffer.read(cap + 1)
        text = text_of(raw, path=name, max_bytes=cap, kind=kind)
    else:
        text = read_text(file, max_bytes=cap, kind=kind)
    body = json_of(text, path=name, kind=kind)
    problems = schemas.check_request(provider, body, endpoint=endpoint, method=method.upper())
    problems = [p.at(Location(name)) for p in problems]
    click.echo(report_problems(fmt, problems, [name]))
    sys.exit(1 if any(p.is_error for p in problems) else 0)


@cli.command()
@click.argument("name", default="recipe")
@_presenting_errors
def schema(name: str) -> None:
    """Print a JSON Schema: the recipe schema (default), or a provider schema like runware/getResponse."""
    from lipflow.problems import unknown_name
    from lipflow.schemas.loading import RECIPE_SCHEMA, document_names, document_text

    known = sorted(n[: -len(".json")] for n in document_names())
    wanted = "recipe.schema" if name == "recipe" else name.removesuffix(".json")
    if wanted not in known:
        raise unknown_name("schema", name, ["recipe", *(k for k in known if k != "recipe.schema")])
    click.echo(document_text(RECIPE_SCHEMA if wanted == "recipe.schema" else f"{wanted}.json"))


@cli.command()
@click.argument("source", metavar="RECIPE|PLAN.json")
@click.option(
    "--mock",
    "use_mock",
    is_flag=True,
    help="Run against the bundled mock: no keys, no network, no bills.",
)
@click.option(
    "--out",
    "out_dir",
    metavar="DIR",
    help="Out directory: outputs and the run journal. [default: runs/NAME, runs/NAME.mock with --mock]",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the run journaled in --out (running into it again does the same; this insists it exists).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 10_000),
    default=8,
    show_default=True,
    help="Jobs in flight at once.",
)
@click.option(
    "--provider-concurrency",
    "provider_limits",
    multiple=True,
    metavar="PROVIDER=N",
    help="Jobs in flight at one provider, e.g. runware=4 (repeatable).",
)
@click.option(
    "--budget",
    type=_Finite(min=0),
    help="USD the plan's estimate may reach (default: the recipe's budget).",
)
@click.option(
    "--allow-unpriced", is_flag=True, help="Run jobs the providers' docs give no price for."
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask before submitting paid jobs.")
@click.option(
    "--format",
    "fmt",
    type=FORMAT_TEXT_JSON,
    default="text",
    show_default=True,
    help="json prints the run report on stdout.",
)
@click.option(
    "--resubmit-ambiguous",
    is_flag=True,
    help="Submit again the PixVerse/WaveSpeed jobs whose earlier submit may or may not have reached the provider (this may pay twice).",
)
@click.option(
    "--max-output-mb",
    type=_Finite(min=0, min_open=True),
    help="Largest output accepted, in MiB; a larger one is refused while streaming. [default: the provider's documented limit, else 1024]",
)
@click.option(
    "--download-timeout",
    type=_Finite(min=0, min_open=True),
    default=1800,
    show_default=True,
    help="Seconds one output may take to arrive, however slowly it trickles.",
)
@click.option(
    "--max-outputs",
    type=click.IntRange(1, 10_000),
    default=20,
    show_default=True,
    help="Outputs downloaded per job; more are named in the journal, not fetched.",
)
@click.option(
    "--retry-after-cap",
    type=_Finite(min=0),
    default=300,
    show_default=True,
    help="Longest Retry-After obeyed, in seconds; a longer one is waited this long, and said so.",
)
@click.option(
    "--unknown-status-polls",
    type=click.IntRange(1, 100_000),
    default=20,
    show_default=True,
    help="Polls answered with a status the provider's docs do not list before the job is reported (it stays submitted).",
)
@click.option(
    "--retake-lost",
    is_flag=True,
    help="Buy a fresh take of jobs whose output expired or was lost and cannot be fetched again.",
)
@_max_jobs_option
@click.option(
    "--fresh",
    is_flag=True,
    help="A deliberate new take of every job not in flight: new job keys and idempotency keys, so each is generated and paid for again (earlier outputs are kept, renamed).",
)
@_presenting_errors
def run(
    source: str,
    use_mock: bool,
    out_dir: str | None,
    resume: bool,
    concurrency: int,
    provider_limits: tuple[str, ...],
    budget: float | None,
    allow_unpriced: bool,
    yes: bool,
    fmt: str,
    resubmit_ambiguous: bool,
    max_output_mb: float | None,
    download_timeout: float,
    max_outputs: int,
    retry_after_cap: float,
    unknown_status_polls: int,
    retake_lost: bool,
    max_jobs: int,
    fresh: bool,
) -> None:
    """Run a recipe or a saved plan to finished media files: upload, submit, poll, download.

    Every step is journaled in the out directory first, so a run that is interrupted, killed or
    failed is continued with --resume without paying for any job twice. Exit 0 when every job is
    done, 3 over budget, 4 when some jobs failed, are ambiguous or are still at the provider,
    6 when the out directory cannot be written (read-only, full) or its journal cannot be
    trusted, 130 interrupted.
    """
    import contextlib

    from lipflow.cli.build import build_plan
    from lipflow.errors import Interrupted, RunFailed
    from lipflow.recipe.loading import is_plain_name
    from lipflow.reporting.progress import progress_for
    from lipflow.reporting.runs import format_run
    from lipflow.run.budget import BudgetCheck
    from lipflow.run.cache import default_store
    from lipflow.run.retry import RetryPolicy
    from lipflow.run.runner import execute
    from lipflow.run.settings import RunSettings, provider_limits_from
    from lipflow.secrets import Secrets

    if out_dir == "":  # else it would quietly mean the default, runs/NAME
        raise UsageError("--out needs a directory name, not an empty string")
    env = environment.environ()
    the_plan = build_plan(source, env, max_jobs=max_jobs)
    limits = provider_limits_from(provider_limits)
    used = sorted({pj.job.provider for pj in the_plan.jobs})
    stem = the_plan.recipe_name or Path(the_plan.recipe_file).stem
    if out_dir is None and not is_plain_name(stem):  # a saved plan's name is not trusted either
        raise UsageError(f"recipe name {stem!r} is not a plain file name; pass --out DIR")
    out = Path(out_dir or os.path.join("runs", f"{stem}.mock" if use_mock else stem))
    with contextlib.ExitStack() as stack:
        if use_mock:
            from lipflow.providers import registry
            from mock_server import MockServer

            server = stack.enter_context(MockServer())
            urls = {name: server.urls[name] for name in registry.names()}
            keys = {name: "lipflow-mock-key" for name in urls}
        else:
            urls = environment.base_urls(env)
            keys = environment.keys_from_env(used, env)
        settings = RunSettings(
            out_dir=out,
            base_urls=urls,
            keys=keys,
            concurrency=concurrency,
            provider_concurrency=limits,
            budget=budget,
            allow_unpriced=allow_unpriced,
            resume=resume,
            resubmit_ambiguous=resubmit_ambiguous,
            target="mock" if use_mock else "live",
            source=source,
            retry=RetryPolicy(retry_after_cap=retry_after_cap),
            max_output_bytes=None if max_output_mb is None else int(max_output_mb * 1024 * 1024),
            download_deadline=download_timeout,
            max_outputs=max_outputs,
            unknown_status_polls=unknown_status_polls,
            retake_lost=retake_lost,
            fresh=fresh,
            store=None if use_mock else default_store(env),
        )
        if not (yes or use_mock) and sys.stdin.isatty():
            check = BudgetCheck.of(the_plan, settings.budget)
            check.enforce(allow_unpriced=allow_unpriced)
            click.echo(check.breakdown(), err=True)
            if not _confirmed(f"Submit up to {len(the_plan.jobs)} job(s) to {', '.join(used)}?"):
                click.echo("not submitted: you answered no, so nothing was sent", err=True)
                raise click.exceptions.Exit(1)
        secrets = Secrets.of_providers(keys)  # a key that cannot be sent is refused here
        progress = progress_for(sys.stderr)
        try:
            report = execute(the_plan, settings, observer=progress)
        except Exception as exc:  # whatever escapes is shown without a key, in any encoding
            raise secrets.scrubbed(exc) from None
        finally:
            progress.close()
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(format_run(report))
    if report.interrupted:
        raise Interrupted(
            f"interrupted; the journal is settled. Resume with: {report.resume_command()}"
        )
    unjoined = [a for a in report.assemblies if a.state == "failed"]
    if unjoined and all(j.state == "done" for j in report.jobs):
        from lipflow.errors import AssemblyFailed

        rec = unjoined[0].record
        raise AssemblyFailed(
            f"the pieces of {unjoined[0].group} could not be joined: "
            f"{rec.error if rec else 'unknown'}; resume with: {report.resume_command()}"
        )
    if report.not_submitted_for_budget:
        totals = report.cost_totals()
        raise BudgetExceeded(
            f"the budget of ${report.budget_usd:.2f} stopped the run: "
            f"{report.not_submitted_for_budget} job(s) were not submitted (spent "
            f"${totals['spent_usd']:.4f}). Add a higher --budget to this command to go on: "
            f"{report.resume_command()}"
        )
    if not report.ok:
        counts = ", ".join(
            f"{n} {state}" for state, n in sorted(report.counts().items()) if state != "done"
        )
        refused = report.outputs_refused()
        waiting = report.at_provider() - refused
        still = (
            f"{waiting} job(s) still at the provider: run again to keep polling. "
            if waiting
            else ""
        )
        if refused:
            still += (
                f"{refused} job(s) paid for whose output URL is refused: run again to fetch "
                "them (nothing is bought), or add --retake-lost to buy fresh takes; a job whose "
                "provider no longer knows it (said on its line) comes back only as a fresh take. "
            )
        raise RunFailed(
            f"{still}{counts} of {len(report.jobs)} job(s); resume with: {report.resume_command()}"
        )


@cli.group()
def mock() -> None:
    """The bundled mock of every provider API: offline, no keys, no bills."""


@mock.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="HTTP port for all REST APIs, media and /_mock/; 0 picks a free one.",
)
@click.option(
    "--ws-port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port of the WebSocket APIs (Runware's); 0 picks a free one.",
)
@click.option(
    "--processing-seconds",
    type=click.FloatRange(min=0),  # the simulator words its own bounds (at most 3600)
    default=0.0,
    show_default=True,
    help="How long each job takes before it is done.",
)
@click.option("--seed", type=int, default=None, help="Make ids and timings reproducible.")
@click.option(
    "--api-key",
    envvar="LIPFLOW_MOCK_API_KEY",
    default=None,
    help="Accept only this key (default: any non-empty key). Env: LIPFLOW_MOCK_API_KEY.",
)
@click.option(
    "--print-urls",
    type=click.Choice(["json"]),
    default=None,
    help="Print the base URL of each API as one JSON line first.",
)
@_presenting_errors
def mock_serve(
    host: str,
    port: int,
    ws_port: int,
    processing_seconds: float,
    seed: int | None,
    api_key: str | None,
    print_urls: str | None,
) -> None:
    """Serve every provider's API locally until Ctrl-C or SIGTERM."""
    from mock_server import serve
    from mock_server.errors import MockError

    try:
        serve(
            host=host,
            port=port,
            ws_port=ws_port,
            print_urls=print_urls,
            processing_seconds=processing_seconds,
            seed=seed,
            api_key=api_key,
        )
    except MockError as exc:
        raise UsageError(exc.message) from exc


def main() -> None:
    gc.freeze()  # what start-up made lives until exit: no collection need walk it (see lipflow.cli)
    cli()
