"""Option files: ``--config`` TOML / JSON files, and a model directory's ``config.json`` replayed as options.

Keys are the options' names (dashes read as underscores); a replayed
``config.json`` is flattened from its sections, older field names migrated
(:func:`seqtext.config.migrate`) and its record-only fields dropped.
"""

from __future__ import annotations

from seqtext.config import Settings, migrate
from seqtext.errors import DataError, beyond_reading

# Fields a model directory's config.json carries beside its sections: a record, not options.
RECORD_FIELDS = {"format_version", "kind", "vocab_size", "data", "summary", "inputs", "tail", "resolved",
                 "reads_ahead", "casing", "transfer"}


def read_options_file(path, settings: type[Settings] | None = None) -> dict:
    """Options from a TOML (``.toml``) or JSON file, dashes in keys read as underscores.

    A model directory's ``config.json`` (it has ``format_version`` and
    ``kind``) is replayed: its sections are flattened into options, older
    field names migrated, and its record-only fields dropped.  With
    ``settings``, a config.json of another kind is refused.
    """
    import json
    import os
    from pathlib import Path

    path = Path(path)
    # os.path's tests answer False where a name cannot be looked up at all (too long, say), as pathlib's raise
    if os.path.isdir(path) and os.path.isfile(path / "config.json"):
        path = path / "config.json"
    if os.path.isdir(path):
        raise DataError(f"{path} is a directory without a config.json; give a TOML or JSON file, or a model "
                        "directory.")
    if not os.path.isfile(path):
        raise DataError(f"the config file {path} does not exist; check the path.")
    if path.suffix.lower() in (".yaml", ".yml"):
        raise DataError(f"{path} is YAML, which seqtext does not read; write the options as TOML (.toml) or JSON.")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (Notepad) is no key
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; give a TOML or JSON file.") from None
    try:
        if path.suffix.lower() == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib
            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError and JSONDecodeError are ValueErrors
        if why := beyond_reading(exc):  # valid syntax that Python cannot read: too deep, too many digits
            raise DataError(f"{path} {why}; no option takes such a value, so fix it.") from None
        form = "TOML" if path.suffix == ".toml" else "JSON" if path.suffix == ".json" else \
            "JSON (a file not ending in .toml is read as JSON)"
        raise DataError(f"{path} is not valid {form} ({exc}); fix its syntax.") from None
    if not isinstance(data, dict):
        raise DataError(f"{path} must hold a table of options, not {type(data).__name__}.")
    if "format_version" in data and "kind" in data:
        return _replay(path, data, settings)
    options, spelled = {}, {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name in options:  # batch-size and batch_size: one option written twice
            raise DataError(f"{path} sets {name} twice ({spelled[name]!r} and {key!r}); keep one.")
        options[name], spelled[name] = value, key
    return options


def _replay(path, data: dict, settings: type[Settings] | None) -> dict:
    """The options recorded in a model's config.json."""
    from seqtext.modeldir import FORMAT_VERSION, TRAIN_COMMANDS

    version = data["format_version"]
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise DataError(f"{path} was written by a newer seqtext (format {version!r}, this one reads "
                        f"{FORMAT_VERSION}); upgrade seqtext.")
    if not isinstance(data["kind"], str):
        raise DataError(f"{path} has a kind {data['kind']!r}, which names no kind of model; give a model's "
                        "config.json, or options without a kind.")
    if settings is not None and data["kind"] != settings.kind:
        raise DataError(f"{path} holds the settings of a {data['kind']} model, not a {settings.kind} model; "
                        f"give it to {TRAIN_COMMANDS.get(data['kind'], 'the command that trains that kind')}.")
    options = {}
    for key, values in data.items():
        if key in RECORD_FIELDS:
            continue
        if not isinstance(values, dict):
            raise DataError(f"{path} has a field {key!r} that is neither a section nor a record; remove it.")
        options.update(migrate(key, values, version))
    return options
