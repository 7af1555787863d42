"""The guarantee catalogue (diagram_gen/guarantees.yaml): the committed one has the 18 guarantees
in order and covers every spec folder; a bad one is refused with the file, the field and why."""
from __future__ import annotations

from pathlib import Path

import pytest

from diagram_gen.catalogue import catalogue_file, load_catalogue, parse_catalogue
from diagram_gen.model import KIND_TYPES
from harness.errors import ConfigError
from tests.diagram_gen import CATALOGUE_TEXT, write_catalogue

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "diagram_gen" / "specs"
EIGHTEEN = ["strict-serializability", "serializability", "snapshot-isolation", "repeatable-read", "cursor-stability",
            "read-committed", "read-uncommitted", "linearizability", "sequential", "causal", "pram",
            "read-your-writes", "monotonic-reads", "monotonic-writes", "writes-follow-reads", "consistent-prefix",
            "bounded-staleness", "eventual"]


def test_the_committed_catalogue_has_the_eighteen_in_order_and_covers_every_spec_folder() -> None:
    cat = load_catalogue(catalogue_file(SPECS), SPECS, REPO)
    assert cat.file == "diagram_gen/guarantees.yaml"
    assert [g.id for g in cat.guarantees] == EIGHTEEN
    assert [f.id for f in cat.families] == ["isolation", "ordering", "session", "staleness"]
    assert [g.family for g in cat.guarantees] == ["isolation"] * 7 + ["ordering"] * 4 + ["session"] * 4 + \
        ["staleness"] * 3
    assert list(cat.kinds) == list(KIND_TYPES)
    lin = cat.guarantee("linearizability")
    assert (lin.name, lin.availability, lin.reference) == ("Linearizability", "unavailable",
                                                           "https://doi.org/10.1145/78969.78972")
    assert lin.definition == "Every operation takes effect atomically at some instant between its call and its return."
    assert {p.name for p in SPECS.iterdir() if p.is_dir()} <= set(EIGHTEEN)
    assert [g.availability for g in cat.guarantees].count("sticky") == 3  # causal, PRAM, read-your-writes


def _parse(text: str):  # type: ignore[no-untyped-def]
    import yaml

    return parse_catalogue(yaml.safe_load(text), "g.yaml")


def _refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as e:
        _parse(text)
    return e.value


def test_the_fixture_catalogue_parses() -> None:
    cat = _parse(CATALOGUE_TEXT % {"guarantee": "lin"})
    assert [(g.id, g.family, g.availability) for g in cat.guarantees] == [("lin", "ordering", "unavailable"),
                                                                           ("eventual", "staleness", "total")]
    assert cat.guarantee("eventual").seen_in_source == "https://cassandra.apache.org/doc/latest/"


@pytest.mark.parametrize("mutate, field, reason", [
    (lambda t: t.replace("    family: staleness\n", "    family: weak\n"), "guarantees.eventual.family",
     "unknown family 'weak' (defined: ordering, staleness)"),
    (lambda t: t.replace("    defined_in: Vogels 2008\n", ""), "guarantees.eventual.defined_in",
     "required field is missing"),
    (lambda t: t.replace("    defined_in: Vogels 2008\n", "    defined_in: Vogels 2008\n    colour: red\n"),
     "guarantees.eventual.colour", "unknown field (known: name, family, definition, defined_in, reference, "
                                   "availability, seen_in)"),
    (lambda t: t.replace("  eventual:\n", "  Eventual_2:\n"), "guarantees.Eventual_2",
     "id 'Eventual_2' must match ^[a-z][a-z0-9-]*$ (it is a folder name)"),
    (lambda t: t.replace("    availability: total\n", "    availability: always\n"),
     "guarantees.eventual.availability", "unknown availability class 'always' (defined: unavailable, total)"),
    (lambda t: t.replace("reference: https://doi.org/10.1145/1466443.1466448", "reference: Vogels"),
     "guarantees.eventual.reference", "must be one https:// URL, got 'Vogels'"),
    (lambda t: t.replace("definition: If writes stop, all replicas converge.", "definition: ''"),
     "guarantees.eventual.definition", "must be a non-empty string, got ''"),
    (lambda t: t.replace("  decision: Should you use it?\n", ""), "kinds",
     "must list exactly concept, implementation, comparison, failure, performance, decision in that order, "
     "got concept, implementation, comparison, failure, performance"),
    (lambda t: t.replace("    seen_in: {text: Cassandra at ONE, source: https://cassandra.apache.org/doc/latest/}\n",
                         "    seen_in: Cassandra\n"), "guarantees.eventual.seen_in",
     "must be a non-empty mapping, got str"),
    (lambda t: t.replace("guarantees:\n", "guarantee:\n"), "guarantee",
     "unknown field (known: kinds, families, availability, guarantees)"),
    (lambda t: t.replace("families:\n", "families:\n  weak: {name: Weak, about: Nothing here.}\n"), "families.weak",
     "no guarantee belongs to this family"),
    (lambda t: "- a list\n", "(top level)", "must be a non-empty mapping, got list"),
])
def test_a_bad_catalogue_names_the_field_and_why(mutate, field: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    e = _refused(mutate(CATALOGUE_TEXT % {"guarantee": "lin"}))
    assert (e.file, e.field, e.reason) == ("g.yaml", field, reason)


def test_duplicate_keys_are_refused_with_their_line(tmp_path: Path) -> None:
    path = write_catalogue(tmp_path)
    text = path.read_text()
    path.write_text(text.replace("    availability: total\n", "    availability: total\n    availability: unavailable\n"))
    with pytest.raises(ConfigError) as e:
        load_catalogue(path, tmp_path / "specs", tmp_path)
    line = text.splitlines().index("    availability: total") + 2
    assert (e.value.file, e.value.field) == ("guarantees.yaml", "availability")
    assert e.value.reason.startswith(f"duplicate key at line {line}")


def test_a_spec_folder_without_an_entry_is_refused(tmp_path: Path) -> None:
    path = write_catalogue(tmp_path)
    (tmp_path / "specs" / "lin").mkdir(parents=True)
    assert [g.id for g in load_catalogue(path, tmp_path / "specs", tmp_path).guarantees] == ["lin", "eventual"]
    (tmp_path / "specs" / "causal").mkdir()
    with pytest.raises(ConfigError) as e:
        load_catalogue(path, tmp_path / "specs", tmp_path)
    assert (e.value.file, e.value.field) == ("guarantees.yaml", "guarantees.causal")
    assert e.value.reason.startswith(f"the specs folder {tmp_path / 'specs' / 'causal'} has no entry in the catalogue")


def test_a_missing_catalogue_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        load_catalogue(tmp_path / "guarantees.yaml", tmp_path / "specs", tmp_path)
    assert (e.value.file, e.value.field) == ("guarantees.yaml", "(file)")
