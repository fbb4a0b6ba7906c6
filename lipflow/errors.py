"""lipflow's one exception tree.

Every error lipflow raises on purpose derives from :class:`LipflowError`, carries the context a
user needs to fix it, knows its exit code, and formats itself; the CLI only presents it::

    LipflowError                      exit 1 unless a subclass says otherwise
    ├── UsageError                    2  bad command-line use (unknown option value, missing key variable)
    ├── InputError                    2  a file cannot be read: missing, binary, too large, not UTF-8
    │   └── UnreadableFile               the system cannot give its bytes: missing, no permission, a directory
    ├── RecipeError                   1  a recipe is not valid; carries every Problem found
    ├── RequestInvalid                1  a provider request body breaks the provider's documented rules
    ├── PlanError                     1  a recipe is valid but cannot be planned (no model has every capability);
    │                                 2  when a file it names (a subtitle file, a media input) cannot be read
    ├── BudgetExceeded                3  the plan costs more than --budget allows, or holds unpriced work
    ├── RunFailed                     4  some jobs of a run failed; the report says which and why
    ├── AssemblyFailed                4  pieces of a split lip sync could not be joined into one verified output
    ├── Interrupted                 130  Ctrl-C: the journal is settled and the run can be resumed
    ├── DiskError                     6  the out directory cannot be written (read-only, full, no permission)
    ├── JournalUnusable               6  an out directory's journal is empty, damaged, locked, copied
    │                                    without its -wal file, or contradicts the files beside it
    └── ProviderError                 5  a provider answered in a way the runner cannot go on from
        ├── ProviderRejected             the request was refused (validation, auth): do not retry
        │   └── JobUnknown               the provider does not know the job asked about (expired)
        ├── ProviderCapacity             429 / concurrency cap: nothing was created, retry later
        ├── ProviderUnavailable          not sent (connection refused): safe to retry
        ├── ProviderAmbiguous            the request may have created a job; never re-send blindly
        │   └── ReplyUnreadable          a reply broke a bound (size, JSON depth, number length)
        ├── JobFailed                    the provider ran the job and it failed (moderation, generation)
        └── OutputInvalid                a downloaded output is not the media the provider announced
            └── OutputRefused            an output a bound or the URL rule refuses: never fetched again

Foreign exceptions (httpx, yaml, jsonschema, OS errors) are translated at the boundary with
``raise ... from exc`` so nothing below the CLI leaks a traceback to a user.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lipflow.problems import Problem

__all__ = [
    "AssemblyFailed",
    "BudgetExceeded",
    "DiskError",
    "InputError",
    "Interrupted",
    "JobFailed",
    "JobUnknown",
    "JournalUnusable",
    "LipflowError",
    "OutputInvalid",
    "OutputRefused",
    "PlanError",
    "ProviderAmbiguous",
    "ProviderCapacity",
    "ProviderError",
    "ProviderRejected",
    "ProviderUnavailable",
    "RecipeError",
    "ReplyUnreadable",
    "RequestInvalid",
    "RunFailed",
    "UnreadableFile",
    "UsageError",
]


class LipflowError(Exception):
    """Base of every error lipflow raises on purpose; ``exit_code`` is what the CLI exits with."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def format(self) -> str:
        """The text a user sees: one line per fact, no traceback."""
        return f"error: {self.message}"


class UsageError(LipflowError):
    """The command line asks for something lipflow cannot do as asked."""

    exit_code = 2


class _PathError(LipflowError):
    """An error about one file or directory, shown with its path first."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path

    def format(self) -> str:
        return f"{self.path}: error: {self.message}" if self.path else f"error: {self.message}"


class InputError(_PathError):
    """A file named by the user cannot be read as the kind of file it should be; ``line`` and
    ``column`` say where in it, when one place is why (its first byte that is not UTF-8)."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message, path=path)
        self.line = line
        self.column = column

    def format(self) -> str:
        if self.path and self.line is not None:
            return f"{self.path}:{self.line}:{self.column or 1}: error: {self.message}"
        return super().format()


class UnreadableFile(InputError):
    """The system cannot give lipflow a file's bytes: it is missing, this user may not read it,
    or it is a directory, pipe or device. Told apart from a file lipflow read and refused (a
    media file that is no audio or video), which is an invalid input: exit 1 in a plan."""

    @classmethod
    def of_media(cls, exc: OSError, *, path: str) -> UnreadableFile:
        """The error for a media file ``path`` the system refused to open or stat."""
        return cls(f"cannot read media file: {exc.strerror or exc}", path=path)


class _ProblemsError(LipflowError):
    """An error made of collected problems, so a user fixes everything in one pass."""

    def __init__(self, message: str, problems: Sequence[Problem]) -> None:
        super().__init__(message)
        self.problems = list(problems)

    def format(self) -> str:
        lines = [p.format() for p in self.problems] or [f"error: {self.message}"]
        return "\n".join(lines)


class RecipeError(_ProblemsError):
    """A recipe is not valid; ``problems`` lists every problem with its location."""


class RequestInvalid(_ProblemsError):
    """A provider request body breaks the documented rules of that provider."""


class PlanError(_ProblemsError):
    """A valid recipe cannot be turned into jobs (no model offers what a step asks for); exit 2
    when a file it names cannot be read, as for any unreadable input."""

    def __init__(self, message: str, problems: Sequence[Problem]) -> None:
        super().__init__(message, problems)
        from lipflow.problems import exit_code_of

        self.exit_code = exit_code_of(self.problems) or 1


class BudgetExceeded(LipflowError):
    """The estimated cost is over the budget, or holds work the docs give no price for."""

    exit_code = 3


class RunFailed(LipflowError):
    """A run ended with failed or ambiguous jobs; the run report names each and why."""

    exit_code = 4


class AssemblyFailed(_PathError):
    """The pieces of a split lip sync could not be joined, or the joined output failed its checks
    (duration, audio, joins). The pieces stay on disk; a later run assembles them again."""

    exit_code = 4


class Interrupted(LipflowError):
    """The user stopped a run; the journal is consistent and ``--resume`` continues it."""

    exit_code = 130


class JournalUnusable(LipflowError):
    """A run journal that cannot be trusted: reading it as it is could pay for jobs again, so
    nothing is sent. ``path`` is the journal (or the out directory) it is about."""

    exit_code = 6

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path

    def format(self) -> str:
        return f"{self.path}: error: {self.message}"


class ProviderError(LipflowError):
    """A provider's answer that the runner cannot go on from as is."""

    exit_code = 5

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.code = code
        self.retry_after = retry_after

    def format(self) -> str:
        detail = ", ".join(
            f"{k} {v}" for k, v in (("HTTP", self.status), ("code", self.code)) if v is not None
        )
        suffix = f" ({detail})" if detail else ""
        return f"error: {self.provider}: {self.message}{suffix}"


class ProviderRejected(ProviderError):
    """The provider refused the request (validation, auth, moderation): retrying will not help."""


class JobUnknown(ProviderRejected):
    """The provider does not know the job asked about (its records expired, or it was never this
    account's): asking again cannot bring it or its output back. For a provider whose error code
    says so only on one call (PixVerse's "Invalid parameter" to a result poll), its client says
    it with this; codes a wire declares ``not_found`` say it too."""


class ProviderCapacity(ProviderError):
    """Rate limit or concurrency cap: nothing was created; retry after ``retry_after`` seconds."""


class ProviderUnavailable(ProviderError):
    """The request never reached the provider (connection refused, DNS): safe to send again."""


class ProviderAmbiguous(ProviderError):
    """The request went out but its fate is unknown; a job may exist and may be billed."""


class JobFailed(ProviderError):
    """The provider accepted the job and ran it, and it failed: ``reason`` is ``moderation`` or
    ``generation``. Independent jobs go on; ``--resume`` submits the job again."""

    def __init__(
        self, message: str, *, provider: str, reason: str, code: str | None = None
    ) -> None:
        super().__init__(message, provider=provider, code=code)
        self.reason = reason


class OutputInvalid(ProviderError):
    """A downloaded output is not what was announced (size, media type, empty); it is not kept."""


class DiskError(_PathError):
    """The out directory cannot be written: read-only, full, or not ours. The run stops
    submitting; what was journaled stays, and ``--resume`` continues once there is room."""

    exit_code = 6


class ReplyUnreadable(ProviderAmbiguous):
    """A reply lipflow will not read: larger than the reply cap, JSON nested too deep, a number
    too long. The request may have acted, so it is ambiguous; asking again is not tried."""


class OutputRefused(OutputInvalid):
    """An output refused by a bound (size, download time) or by the URL rule (scheme, private
    address, credentials): fetching it again would be refused the same way."""
