"""The whole catalog as one JSON document (every account and region, lifecycle columns included): export it,
and import it in place of what a database holds. export -> import -> export gives the same document.

    {"format": "smimages-catalog", "version": 1, "images": [
        {"account": "000000000000", "region": "us-east-1", "name": "img", "role_arn": "arn:...", "status": "CREATED",
         ... every images column but id ...,
         "tags": [{"Key": "team", "Value": "ml"}],
         "versions": [{"version": 1, "base_image": "...", ... every image_versions column but ids ...,
                       "aliases": ["latest"]}]}],
     "app_image_configs": [
        {"account": "000000000000", "region": "us-east-1", "name": "cfg", "kernel_gateway": {"KernelSpecs": [...]},
         ... every app_image_configs column but id ..., "tags": [{"Key": "team", "Value": "ml"}]}]}

Columns keep their database names (configuration blocks are their API JSON). A hand-written seed may leave most of
them out: the defaults are a CREATED resource created at import time in account 000000000000, us-east-1 (see
`_image_defaults`); a document without "app_image_configs" (written before they existed) has none."""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path
from typing import Any, cast

from botocore.model import StringShape, StructureShape

from .clock import LATEST
from .context import ACCOUNT_ID, DEFAULT_ACCOUNT, DEFAULT_REGION, REGION_NAME
from .domain.lifecycle import GONE
from .errors import ServiceError
from .protocol.validate import validate
from .spec import operation_model, service_model
from .store import (
    APP_IMAGE_CONFIG_MEMBERS,
    COLUMN_KINDS,
    COLUMNS,
    VERSION_MEMBERS,
    CatalogEntry,
    CatalogStore,
    ConfigEntry,
    Conflict,
)

FORMAT = "smimages-catalog"
VERSION = 1
# What an export writes: every column but the row ids and the name key, which an import derives from the name (so a
# name edited in an exported document is all it takes to rename)
_IMAGE_COLUMNS = [name for name in COLUMNS["images"] if name not in ("id", "name_key")]
_VERSION_COLUMNS = [name for name in COLUMNS["image_versions"] if name not in ("id", "image_id")]
_CONFIG_COLUMNS = [name for name in COLUMNS["app_image_configs"] if name not in ("id", "name_key")]


class SnapshotError(ValueError):
    """A document that is not a catalog this smimages can import (the message says where)."""


class CatalogNotEmpty(SnapshotError):
    """An import that does not replace the catalog, into one that holds something."""


def export_state(store: CatalogStore) -> dict[str, Any]:
    """The catalog as a JSON-ready dict; rows in creation order, so an import keeps every ordering. The rows are
    read in one snapshot (SQLite: one transaction; PostgreSQL: REPEATABLE READ), whatever writers do."""
    with store.transaction(snapshot=True) as tx:
        rows = tx.catalog_rows()
    aliases: dict[int, list[str]] = {}
    for row in rows["version_aliases"]:
        aliases.setdefault(row["version_id"], []).append(row["alias"])
    tags = _tags_by(rows["image_tags"], "image_id")
    config_tags = _tags_by(rows["app_image_config_tags"], "config_id")
    versions: dict[int, list[dict[str, Any]]] = {}
    for row in rows["image_versions"]:
        entry = {name: row[name] for name in _VERSION_COLUMNS}
        entry["aliases"] = aliases.get(row["id"], [])
        versions.setdefault(row["image_id"], []).append(entry)
    exported = []
    for row in rows["images"]:
        entry = {name: row[name] for name in _IMAGE_COLUMNS}
        entry["tags"] = tags.get(row["id"], [])
        entry["versions"] = versions.get(row["id"], [])
        exported.append(entry)
    configs = [
        {**{name: row[name] for name in _CONFIG_COLUMNS}, "tags": config_tags.get(row["id"], [])}
        for row in rows["app_image_configs"]
    ]
    return {"format": FORMAT, "version": VERSION, "images": exported, "app_image_configs": configs}


def _tags_by(rows: list[dict[str, Any]], owner: str) -> dict[int, list[dict[str, str]]]:
    """Tag rows as the document's tag lists, by the id of the row they belong to."""
    tags: dict[int, list[dict[str, str]]] = {}
    for row in rows:
        tags.setdefault(row[owner], []).append({"Key": row["key"], "Value": row["value"]})
    return tags


def import_state(store: CatalogStore, document: dict[str, Any], now: float, replace: bool = True) -> int:
    """Writes a catalog document into the store in one transaction, after deleting everything (replace) or
    into an empty catalog (refused otherwise); returns how many images it holds. `now` fills left-out times."""
    entries = _parse(document, now)
    configs = _parse_configs(document, now)
    try:
        with store.transaction(write=True) as tx:
            if replace:
                tx.clear()
            elif not tx.is_empty():
                raise CatalogNotEmpty("the catalog is not empty")
            tx.insert_catalog(entries, configs)
    except Conflict as exc:
        raise SnapshotError(f"the document breaks a uniqueness rule of the catalog: {exc}") from None
    return len(entries)


def dump(store: CatalogStore, path: str | Path | None = None) -> dict[str, Any]:
    """export_state, also written to `path` as JSON when one is given."""
    document = export_state(store)
    if path is not None:
        Path(path).write_text(dumps(document))
    return document


def load(store: CatalogStore, source: str | Path | dict[str, Any], now: float, replace: bool = True) -> int:
    """import_state from a dict or a JSON file."""
    return import_state(store, read(source), now, replace)


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, sort_keys=True) + "\n"


def read(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    if isinstance(source, dict):
        return source
    try:
        # whatever JSON the file holds: import_state refuses it unless it is a catalog object
        return cast("dict[str, Any]", json.loads(Path(source).read_text()))
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"{source} is not JSON: {exc}") from None


def _image_defaults(entry: dict[str, Any], now: float) -> dict[str, Any]:
    created = entry.get("created_at", now)
    return {
        "account": DEFAULT_ACCOUNT,
        "region": DEFAULT_REGION,
        "name_key": str(entry.get("name", "")).lower(),
        "description": None,
        "display_name": None,
        "status": "CREATED",
        "failure_reason": None,
        "created_at": created,
        "modified_at": created,
        "pending_status": None,
        "pending_reason": None,
        "due_at": None,
    }


def _version_defaults(entry: dict[str, Any], now: float) -> dict[str, Any]:
    created = entry.get("created_at", now)
    defaults: dict[str, Any] = {name: None for name in _VERSION_COLUMNS}
    defaults.update(
        client_token=str(uuid.uuid4()),
        container_image=entry.get("base_image"),
        status="CREATED",
        created_at=created,
        modified_at=created,
    )
    return defaults


def _columns(
    entry: dict[str, Any], where: str, table: str, required: tuple[str, ...], defaults: dict[str, Any]
) -> dict[str, Any]:
    """The entry's columns with the defaults filled in, each value checked against its column and the account,
    region and name key against what the API would store."""
    unknown = set(entry) - set(COLUMN_KINDS[table]) - {"id", "image_id"}
    if unknown:
        raise SnapshotError(f"{where} has unknown fields: {', '.join(sorted(unknown))}")
    missing = [name for name in required if entry.get(name) is None]
    if missing:
        raise SnapshotError(f"{where} lacks {', '.join(missing)}")
    values = {**defaults, **entry}
    for name, value in values.items():
        _check_value(value, COLUMN_KINDS[table][name], f"{where}.{name}")
    if "account" in values and not ACCOUNT_ID.fullmatch(values["account"]):
        raise SnapshotError(f"{where}.account must be 12 ASCII digits, not {values['account']!r}")
    if "region" in values and not REGION_NAME.fullmatch(values["region"]):
        raise SnapshotError(f"{where}.region is not a region name: {values['region']!r}")
    if "name_key" in values and values["name_key"] != values["name"].lower():
        raise SnapshotError(f"{where}.name_key must be the name in lower case (or be left out: it is derived from it)")
    return values


_INT32 = (-(2**31), 2**31 - 1)


def _check_value(value: Any, kind: tuple[str, int | None, bool], where: str) -> None:
    """SnapshotError unless value fits a column of this kind (COLUMN_KINDS): times are epoch seconds AWS timestamps
    can carry, integers fit 32 bits, texts their length."""
    name, length, nullable = kind
    if value is None:
        if not nullable:
            raise SnapshotError(f"{where} must not be null")
        return
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "text" and not (isinstance(value, str) and (length is None or len(value) <= length)):
        raise SnapshotError(f"{where} must be a string of at most {length} characters")
    if name == "integer" and not (number and isinstance(value, int) and _INT32[0] <= value <= _INT32[1]):
        raise SnapshotError(f"{where} must be an integer from {_INT32[0]} to {_INT32[1]}")
    if name == "number" and not (
        number and not (isinstance(value, float) and math.isnan(value)) and 0 <= value <= LATEST
    ):
        raise SnapshotError(f"{where} must be a time in epoch seconds from 0 to {LATEST} (9999-12-31T23:59:59.999Z)")
    if name == "boolean" and not isinstance(value, bool):
        raise SnapshotError(f"{where} must be true or false")
    if name == "json" and not isinstance(value, dict):
        raise SnapshotError(f"{where} must be an object")


def _check_api(operation: str, request: dict[str, Any], where: str) -> dict[str, Any]:
    """The request as the validator cleans it (members in their shapes' order), or SnapshotError unless what an
    entry holds would be a valid `operation` request (the model's constraints)."""
    model = operation_model(operation)
    assert model is not None and isinstance(model.input_shape, StructureShape)
    try:
        return validate(model.input_shape, request)
    except ServiceError as exc:
        raise SnapshotError(f"{where}: {exc.message}") from None


def _check_status(values: dict[str, Any], shape: str, where: str) -> None:
    """The statuses are the model's, and a pending transition has both its target and its due time."""
    statuses: list[str] = cast(StringShape, service_model().shape_for(shape)).enum
    if values["status"] not in statuses:
        raise SnapshotError(f"{where}.status must be one of {', '.join(statuses)}")
    if values["pending_status"] not in (*statuses, GONE, None):
        raise SnapshotError(f"{where}.pending_status must be one of {', '.join([*statuses, GONE])} or null")
    if (values["pending_status"] is None) != (values["due_at"] is None):
        raise SnapshotError(f"{where}: pending_status and due_at are set together (a pending transition) or not at all")


def _parse(document: Any, now: float) -> list[CatalogEntry]:
    """(image columns, tags, [(version columns, aliases)]) per image, defaults filled in, ids left out."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SnapshotError(f'not an smimages catalog (expected "format": "{FORMAT}")')
    if document.get("version") != VERSION:
        raise SnapshotError(f"catalog document version {document.get('version')!r} is not {VERSION}")
    entries = document.get("images", [])
    if not isinstance(entries, list):
        raise SnapshotError("images must be a list")
    parsed = []
    for i, entry in enumerate(entries):
        where = f"images[{i}]"
        if not isinstance(entry, dict):
            raise SnapshotError(f"{where} must be an object")
        image = dict(entry)
        tags, versions = image.pop("tags", []), image.pop("versions", [])
        image = _columns(image, where, "images", ("name", "role_arn"), _image_defaults(image, now))
        _check_status(image, "ImageStatus", where)
        tag_rows = _tag_rows(tags, where)
        request = {"ImageName": image["name"], "RoleArn": image["role_arn"], "Tags": tags}
        _check_api(
            "CreateImage", request | {"Description": image["description"], "DisplayName": image["display_name"]}, where
        )
        parsed_versions = []
        if not isinstance(versions, list):
            raise SnapshotError(f"{where}.versions must be a list")
        for j, version_entry in enumerate(versions):
            vwhere = f"{where}.versions[{j}]"
            if not isinstance(version_entry, dict):
                raise SnapshotError(f"{vwhere} must be an object")
            version = dict(version_entry)
            aliases = version.pop("aliases", [])
            if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                raise SnapshotError(f"{vwhere}.aliases must be a list of strings")
            version = _columns(
                version, vwhere, "image_versions", ("version", "base_image"), _version_defaults(version, now)
            )
            _check_status(version, "ImageVersionStatus", vwhere)
            if version["version"] < 1:
                raise SnapshotError(f"{vwhere}.version must be at least 1")
            members = {api: version[column] for api, column in VERSION_MEMBERS.items()}
            request = {"ImageName": image["name"], "BaseImage": version["base_image"], "Aliases": aliases}
            _check_api("CreateImageVersion", request | {"ClientToken": version["client_token"], **members}, vwhere)
            parsed_versions.append((version, aliases))
        newest = max((v["version"] for v, _ in parsed_versions), default=0)
        if entry.get("next_version") is None:
            image["next_version"] = newest
        elif image["next_version"] < newest:
            raise SnapshotError(f"{where}.next_version must be at least its highest version, {newest}")
        parsed.append(CatalogEntry(image, tag_rows, parsed_versions))
    return parsed


def _parse_configs(document: dict[str, Any], now: float) -> list[ConfigEntry]:
    """(config columns, tags) per app image config, defaults filled in, ids left out."""
    entries = document.get("app_image_configs", [])
    if not isinstance(entries, list):
        raise SnapshotError("app_image_configs must be a list")
    parsed = []
    for i, entry in enumerate(entries):
        where = f"app_image_configs[{i}]"
        if not isinstance(entry, dict):
            raise SnapshotError(f"{where} must be an object")
        config = dict(entry)
        tags = config.pop("tags", [])
        created = config.get("created_at", now)
        defaults = {name: None for name in _CONFIG_COLUMNS} | {
            "account": DEFAULT_ACCOUNT,
            "region": DEFAULT_REGION,
            "name_key": str(config.get("name", "")).lower(),
            "created_at": created,
            "modified_at": created,
        }
        values = _columns(config, where, "app_image_configs", ("name",), defaults)
        tag_rows = _tag_rows(tags, where)
        blocks = {api: values[column] for api, column in APP_IMAGE_CONFIG_MEMBERS.items()}
        request = {"AppImageConfigName": values["name"], "Tags": tags, **blocks}
        cleaned = _check_api("CreateAppImageConfig", request, where)
        for api, column in APP_IMAGE_CONFIG_MEMBERS.items():  # stored as CreateAppImageConfig stores them
            values[column] = cleaned.get(api)
        parsed.append(ConfigEntry(values, tag_rows))
    return parsed


def _tag_rows(tags: Any, where: str) -> list[dict[str, str]]:
    """A document's tag list as tag rows."""
    if not isinstance(tags, list) or not all(isinstance(t, dict) and set(t) == {"Key", "Value"} for t in tags):
        raise SnapshotError(f'{where}.tags must be a list of {{"Key": ..., "Value": ...}}')
    return [{"key": t["Key"], "value": t["Value"]} for t in tags]
