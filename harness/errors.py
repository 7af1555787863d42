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
