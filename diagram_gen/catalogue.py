"""The catalogue of guarantees (``diagram_gen/guarantees.yaml``): which guarantees the gallery
shows, in which order, with their names, families, definitions and citations.

Why a file: the 18 guarantees and their definitions are content, not code; the matrix, the
per-guarantee pages and the README all read them from here, so they cannot disagree.

Contract of ``load_catalogue(file, specs_root, repo_root)``:

- duplicate keys are refused anywhere in the file (the diagram specs' strict loader);
- ``kinds`` names exactly the six kinds of ``model.KIND_TYPES``, each with its question;
- every family and availability class is defined once; every guarantee names a defined
  family and availability class and has ``name``, ``definition``, ``defined_in`` (the paper
  or document), ``reference`` (an https URL to read it) and ``seen_in`` {text, source};
- guarantee ids are folder names (``[a-z][a-z0-9-]*``), and every folder under ``specs_root``
  (``specs/<guarantee>/``) has an entry: a diagram never lands outside the gallery.

Anything else raises ``ConfigError(file, field, reason)`` naming the dotted field (e.g.
``guarantees.causal.family``), so ``gbench diagrams`` exits 2 before writing anything.

By default the catalogue is the ``guarantees.yaml`` beside the specs folder
(``diagram_gen/specs`` -> ``diagram_gen/guarantees.yaml``; see ``catalogue_file``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from diagram_gen.model import KIND_TYPES
from diagram_gen.spec import read_spec_data, rel_to
from harness.errors import ConfigError

CATALOGUE_NAME = "guarantees.yaml"
ID_RE = re.compile(r"^[a-z][a-z0-9-]*$")
TOP_FIELDS = ("kinds", "families", "availability", "guarantees")
FAMILY_FIELDS = ("name", "about")
AVAILABILITY_FIELDS = ("label", "about", "source")
GUARANTEE_FIELDS = ("name", "family", "definition", "defined_in", "reference", "availability", "seen_in")
SEEN_IN_FIELDS = ("text", "source")


@dataclass(frozen=True)
class Family:
    id: str
    name: str
    #: one or two sentences: what the family is about and when to look at it
    about: str


@dataclass(frozen=True)
class Availability:
    id: str
    #: short label, e.g. "sticky-available"
    label: str
    about: str
    source: str


@dataclass(frozen=True)
class Guarantee:
    id: str
    name: str
    family: str
    #: one-line definition
    definition: str
    #: where it was defined (papers, standards)
    defined_in: str
    #: an https URL to read the definition
    reference: str
    availability: str
    #: systems and settings that offer it, and the source saying so
    seen_in: str
    seen_in_source: str


@dataclass(frozen=True)
class Catalogue:
    #: the catalogue file, relative to the repository root
    file: str
    #: kind -> the question its diagram answers, in KIND_TYPES order
    kinds: Mapping[str, str]
    families: tuple[Family, ...]
    availability: Mapping[str, Availability]
    #: in gallery order: families in their order, guarantees in file order within a family
    guarantees: tuple[Guarantee, ...]

    def guarantee(self, gid: str) -> Guarantee:
        for g in self.guarantees:
            if g.id == gid:
                return g
        raise KeyError(f"{self.file}: no guarantee {gid!r}")

    def family(self, fid: str) -> Family:
        for f in self.families:
            if f.id == fid:
                return f
        raise KeyError(f"{self.file}: no family {fid!r}")


def catalogue_file(specs_root: Path) -> Path:
    """The default catalogue for a specs folder: ``guarantees.yaml`` beside it."""
    return Path(specs_root).parent / CATALOGUE_NAME


def _mapping(value: Any, file: str, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not value:
        raise ConfigError(file, field, f"must be a non-empty mapping, got {type(value).__name__}")
    for k in value:
        if not isinstance(k, str):
            raise ConfigError(file, f"{field}.{k}", "keys must be strings")
    return value


def _text(value: Any, file: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(file, field, f"must be a non-empty string, got {value!r}")
    return " ".join(value.split())


def _fields(entry: Any, file: str, field: str, names: tuple[str, ...]) -> Mapping[str, Any]:
    """``entry`` as a mapping with exactly the fields ``names`` (``field`` "" = the top level)."""
    m = _mapping(entry, file, field or "(top level)")
    for k in m:
        if k not in names:
            raise ConfigError(file, f"{field}.{k}" if field else k, f"unknown field (known: {', '.join(names)})")
    for k in names:
        if k not in m:
            raise ConfigError(file, f"{field}.{k}" if field else k, "required field is missing")
    return m


def _id(key: str, file: str, field: str) -> str:
    if not ID_RE.match(key):
        raise ConfigError(file, field, f"id {key!r} must match {ID_RE.pattern} (it is a folder name)")
    return key


def parse_catalogue(data: Any, file: str) -> Catalogue:
    """The catalogue from parsed YAML; ConfigError naming the first bad field."""
    top = _fields(data, file, "", TOP_FIELDS)
    kinds = _mapping(top["kinds"], file, "kinds")
    if list(kinds) != list(KIND_TYPES):
        raise ConfigError(file, "kinds", f"must list exactly {', '.join(KIND_TYPES)} in that order, "
                                         f"got {', '.join(map(str, kinds))}")
    questions = {k: _text(v, file, f"kinds.{k}") for k, v in kinds.items()}
    families = []
    for fid, entry in _mapping(top["families"], file, "families").items():
        f = _fields(entry, file, f"families.{fid}", FAMILY_FIELDS)
        families.append(Family(_id(fid, file, f"families.{fid}"), _text(f["name"], file, f"families.{fid}.name"),
                               _text(f["about"], file, f"families.{fid}.about")))
    avail = {}
    for aid, entry in _mapping(top["availability"], file, "availability").items():
        a = _fields(entry, file, f"availability.{aid}", AVAILABILITY_FIELDS)
        avail[aid] = Availability(_id(aid, file, f"availability.{aid}"),
                                  *(_text(a[k], file, f"availability.{aid}.{k}") for k in AVAILABILITY_FIELDS))
    guarantees = []
    for gid, entry in _mapping(top["guarantees"], file, "guarantees").items():
        fld = f"guarantees.{gid}"
        g = _fields(entry, file, fld, GUARANTEE_FIELDS)
        text = {k: _text(g[k], file, f"{fld}.{k}") for k in GUARANTEE_FIELDS if k != "seen_in"}
        if text["family"] not in {f.id for f in families}:
            raise ConfigError(file, f"{fld}.family", f"unknown family {text['family']!r} "
                                                     f"(defined: {', '.join(f.id for f in families)})")
        if text["availability"] not in avail:
            raise ConfigError(file, f"{fld}.availability", f"unknown availability class {text['availability']!r} "
                                                           f"(defined: {', '.join(avail)})")
        if not re.match(r"^https://\S+$", text["reference"]):
            raise ConfigError(file, f"{fld}.reference", f"must be one https:// URL, got {text['reference']!r}")
        seen = _fields(g["seen_in"], file, f"{fld}.seen_in", SEEN_IN_FIELDS)
        guarantees.append(Guarantee(_id(gid, file, fld), text["name"], text["family"], text["definition"],
                                    text["defined_in"], text["reference"], text["availability"],
                                    _text(seen["text"], file, f"{fld}.seen_in.text"),
                                    _text(seen["source"], file, f"{fld}.seen_in.source")))
    for f in families:
        if not any(g.family == f.id for g in guarantees):
            raise ConfigError(file, f"families.{f.id}", "no guarantee belongs to this family")
    order = [f.id for f in families]
    ordered = tuple(sorted(guarantees, key=lambda g: order.index(g.family)))  # stable: file order within
    return Catalogue(file=file, kinds=questions, families=tuple(families), availability=avail, guarantees=ordered)


def check_spec_folders(cat: Catalogue, specs_root: Path) -> None:
    """ConfigError for a spec folder (``specs/<guarantee>/``) the catalogue does not list."""
    root = Path(specs_root)
    if not root.is_dir():
        return
    known = {g.id for g in cat.guarantees}
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        if d.name not in known:
            raise ConfigError(cat.file, f"guarantees.{d.name}",
                              f"the specs folder {d} has no entry in the catalogue: add one, or rename the folder "
                              f"to a catalogue id")


def load_catalogue(file: Path, specs_root: Path, repo_root: Path) -> Catalogue:
    """Read, validate and cross-check the catalogue (see the module docstring)."""
    shown = rel_to(Path(file), Path(repo_root))
    data, _sha = read_spec_data(Path(file), shown)
    cat = parse_catalogue(data, shown)
    check_spec_folders(cat, specs_root)
    return cat


__all__ = ["Availability", "Catalogue", "Family", "Guarantee", "catalogue_file", "check_spec_folders",
           "load_catalogue", "parse_catalogue"]
