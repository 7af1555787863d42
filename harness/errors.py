"""Typed exceptions. The library raises these; only the CLI turns them into one line + exit code."""
from __future__ import annotations


class GbenchError(Exception):
    """Base class for every error the harness reports to a user."""


class ConfigError(GbenchError):
    """A workload/scenario file is malformed or asks for something impossible.

    Always names the file, the field (dotted path) and the reason, and is raised
    before any cluster starts.
    """

    def __init__(self, file: str, field: str, reason: str) -> None:
        self.file, self.field, self.reason = str(file), field, reason
        super().__init__(f"{self.file}: field '{field}': {reason}")


class ArgumentError(ConfigError):
    """A command-line argument is wrong: an option's value, a run reference, a scenario name.

    Bad input like a bad file (exit 2); the message names the argument as the user typed it
    (``--nodes``, ``RUN``, ``--results``) and the reason, e.g. ``--nodes: 4 does not suit ...``.
    """

    def __init__(self, argument: str, reason: str) -> None:
        self.file, self.field, self.reason = argument, "", reason
        GbenchError.__init__(self, f"{argument}: {reason}")


class DamagedFile(GbenchError):
    """A file of a published run is missing or cannot be read (not UTF-8, not JSON, the wrong
    shape). Names the file and the reason; exit 1, like a failed run: the input named a real
    run, the run itself is broken."""

    def __init__(self, file: str, reason: str) -> None:
        self.file, self.reason = str(file), reason
        super().__init__(f"{self.file}: {reason}")


class EnvironmentProblem(GbenchError):
    """The host cannot run what was asked (not root, no namespaces, missing binary...).

    The message says what is missing and what can run instead.
    """


class ClusterError(GbenchError):
    """A cluster did not start or become ready; the message names the node and its last log lines."""


class HistoryParseError(GbenchError):
    """A history file could not be parsed; names the file and line number."""

    def __init__(self, file: str, line: int, reason: str) -> None:
        self.file, self.line, self.reason = str(file), line, reason
        super().__init__(f"{self.file}:{line}: {reason}")
