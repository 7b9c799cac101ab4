"""The error types of genotel.

Every failure that a user can cause (a missing file, an unknown format, a malformed record)
is a `GenotelError`; the CLI turns each into one line on stderr and exit code 2. Anything else
that escapes is a bug (exit code 1). Backend exceptions (pysam, cyvcf2, pyfastx, OSError) are
wrapped where they happen, with `raise ... from exc`, so that the message names the file and,
where known, the 1-based record or line number.
"""

from __future__ import annotations

from os import PathLike


class GenotelError(Exception):
    """Base class of every error a user can cause; its message is one line."""


class UsageError(GenotelError):
    """The command line is wrong (an option value, a missing argument)."""


class InputError(GenotelError):
    """A problem with one input file.

    `where` is a 1-based location such as ``"record 12"`` or ``"line 40"``; it is appended to
    the message when known.
    """

    def __init__(self, path: str | PathLike[str], problem: str, where: str | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        self.where = where
        location = f" at {where}" if where else ""
        super().__init__(f"{self.path}: {problem}{location}")


class UnknownFormat(InputError):
    """The bytes of the file match none of the formats genotel reads."""


class FormatError(InputError):
    """The file is of a known format but malformed (bad header, bad record, truncated)."""


class ReferenceProblem(InputError):
    """A CRAM file cannot be decoded because its reference is absent or does not match."""


def record_where(record_number: int) -> str:
    """Location string for the 1-based record number `record_number`."""
    return f"record {record_number}"


def line_where(line_number: int) -> str:
    """Location string for the 1-based line number `line_number`."""
    return f"line {line_number}"
