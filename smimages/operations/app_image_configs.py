"""CreateAppImageConfig, DescribeAppImageConfig, UpdateAppImageConfig, DeleteAppImageConfig, ListAppImageConfigs."""

from __future__ import annotations

import re
from typing import Any

import orjson

from ..context import RequestContext
from ..domain import paging
from ..domain.arns import app_image_config_arn
from ..errors import ResourceInUse, ResourceNotFound, ValidationException
from ..protocol.wire import Shaped
from ..store import APP_IMAGE_CONFIG_MEMBERS, CatalogTx, Conflict
from . import operation
from .service import Service
from .tags import tag_map, taggable

Row = dict[str, Any]
NAME_IN_USE = "The ID or Name specified is already in use."
_LIST_FILTERS = (
    "NameContains",
    "CreationTimeAfter",
    "CreationTimeBefore",
    "ModifiedTimeAfter",
    "ModifiedTimeBefore",
)
# What FileSystemConfig members are when left out ("If not specified, defaults to ..." in the model)
FILE_SYSTEM_DEFAULTS = {"MountPath": "/home/sagemaker-user", "DefaultUid": 1000, "DefaultGid": 100}
# The service's own check of container arguments, beyond the model's pattern (seen in a real answer, verbatim)
_ARGUMENT = re.compile(r"[a-zA-Z0-9,_/.:=@\-\\+]+")
_ARGUMENT_RULE = r"[^[a-zA-Z0-9,_\/.:=@\-\\+]+$]"


def _blocks(request: Row) -> Row:
    """The configuration blocks a request gives, as stored: FileSystemConfig defaults filled in, arguments checked."""
    blocks = {}
    for member, column in APP_IMAGE_CONFIG_MEMBERS.items():
        block = request.get(member)
        if block is None:
            continue
        if "FileSystemConfig" in block:
            block = {**block, "FileSystemConfig": {**FILE_SYSTEM_DEFAULTS, **block["FileSystemConfig"]}}
        for argument in block.get("ContainerConfig", {}).get("ContainerArguments", []):
            if not _ARGUMENT.fullmatch(argument):
                raise ValidationException(f"ContainerArgument [{argument}] must follow the pattern : {_ARGUMENT_RULE}")
        blocks[column] = block
    return blocks


def config_fields(ctx: RequestContext, row: Row) -> Row:
    """An app image config as DescribeAppImageConfig shows it: its blocks are stored as the validator cleaned them,
    in the shapes' order (the output shape drops those it has not)."""
    fields = {
        "AppImageConfigArn": app_image_config_arn(ctx, row["name"]),
        "AppImageConfigName": row["name"],
        "CreationTime": row["created_at"],
        "LastModifiedTime": row["modified_at"],
    }
    for member, column in APP_IMAGE_CONFIG_MEMBERS.items():
        fields[member] = row[column]
    return fields


@taggable("app-image-config")
def _config_for_tags(tx: CatalogTx, ctx: RequestContext, name: str, lock: bool) -> Row | None:
    return tx.app_image_config(ctx.account, ctx.region, name, lock=lock)


def require_config(tx: CatalogTx, ctx: RequestContext, name: str, lock: bool = False) -> Row:
    config = tx.app_image_config(ctx.account, ctx.region, name, lock=lock)
    if config is None:
        raise ResourceNotFound(f"AppImageConfig with ARN {app_image_config_arn(ctx, name)} does not exist")
    return config


@operation
def create_app_image_config(service: Service, ctx: RequestContext, request: Row) -> Row:
    name = request["AppImageConfigName"]
    tags = tag_map(request.get("Tags", []))
    values = {
        "account": ctx.account,
        "region": ctx.region,
        "name": name,
        "name_key": name.lower(),
        "created_at": ctx.now,
        "modified_at": ctx.now,
        **_blocks(request),
    }
    with service.store.transaction(write=True) as tx:
        try:
            config_id = tx.insert_app_image_config(values)
        except Conflict:
            raise ResourceInUse(NAME_IN_USE) from None
        tx.put_tags("app-image-config", config_id, tags, [])
    return {"AppImageConfigArn": app_image_config_arn(ctx, name)}


@operation
def describe_app_image_config(service: Service, ctx: RequestContext, request: Row) -> Row:
    with service.store.transaction() as tx:
        return config_fields(ctx, require_config(tx, ctx, request["AppImageConfigName"]))


@operation
def update_app_image_config(service: Service, ctx: RequestContext, request: Row) -> Row:
    blocks = _blocks(request)  # a block given replaces the stored one whole; blocks left out stay as they are
    with service.store.transaction(write=True) as tx:
        config = require_config(tx, ctx, request["AppImageConfigName"], lock=True)
        tx.update_app_image_config(config["id"], {**blocks, "modified_at": ctx.now})
    return {"AppImageConfigArn": app_image_config_arn(ctx, config["name"])}


@operation
def delete_app_image_config(service: Service, ctx: RequestContext, request: Row) -> Row:
    with service.store.transaction(write=True) as tx:
        config = require_config(tx, ctx, request["AppImageConfigName"], lock=True)
        tx.delete_app_image_config(config["id"])
    return {}


@operation
def list_app_image_configs(service: Service, ctx: RequestContext, request: Row) -> Row:
    listing = paging.listing(request, _LIST_FILTERS, "CreationTime", "Descending")
    with service.store.transaction() as tx:
        rows = tx.list_app_image_configs(ctx.account, ctx.region, listing)
    page, token = paging.listed_page(rows, listing.limit, listing.query)
    prefix = app_image_config_arn(ctx, "")
    configs = Shaped()
    # each row: the store's LISTED_COLUMNS (the blocks in APP_IMAGE_CONFIG_MEMBERS' order), then the sort key; each
    # config in its wire form (wire.Shaped), the blocks it has as their stored JSON text, carried as it is
    for _, name, created, changed, kernel, jupyter, editor, _ in page:
        fields: Row = {
            "AppImageConfigArn": prefix + name,
            "AppImageConfigName": name,
            "CreationTime": created,
            "LastModifiedTime": changed,
        }
        if kernel is not None:
            fields["KernelGatewayImageConfig"] = orjson.Fragment(kernel)
        if jupyter is not None:
            fields["JupyterLabAppImageConfig"] = orjson.Fragment(jupyter)
        if editor is not None:
            fields["CodeEditorAppImageConfig"] = orjson.Fragment(editor)
        configs.append(fields)
    return {"AppImageConfigs": configs, "NextToken": token}
