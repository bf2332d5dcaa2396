"""The custom images a forwarded call names (CustomImages wherever the model puts them), checked against the catalog."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from ..context import RequestContext
from ..errors import ResourceNotFound
from ..spec import service_model
from ..store import CatalogTx
from .app_image_configs import require_config
from .resources import find_version, require_image
from .service import Service

# A step of a path through a request: a member name, or every element of a list (_EACH) or value of a map (_VALUES)
_EACH, _VALUES = 0, 1
Path = tuple[str | int, ...]


@functools.cache
def custom_image_paths() -> dict[str, tuple[Path, ...]]:
    """Operation name -> the paths to every CustomImages list its input can hold (CreateDomain, UpdateSpace, ...),
    found in the model once (a few hundredths of a second)."""
    model = service_model()
    found = {}
    for name in model.operation_names:
        shape = model.operation_model(name).input_shape
        paths = tuple(_lists_of_custom_images(shape, (), frozenset())) if shape is not None else ()
        if paths:
            found[name] = paths
    return found


def _lists_of_custom_images(shape: Shape, path: Path, seen: frozenset[str]) -> Iterator[Path]:
    if shape.name in seen:  # a recursive shape: its members were walked one level up
        return
    seen = seen | {shape.name}
    if isinstance(shape, StructureShape):
        for member, member_shape in shape.members.items():
            yield from _lists_of_custom_images(member_shape, (*path, member), seen)
    elif isinstance(shape, ListShape):
        if shape.member.name == "CustomImage":
            yield path
        else:
            yield from _lists_of_custom_images(shape.member, (*path, _EACH), seen)
    elif isinstance(shape, MapShape):
        yield from _lists_of_custom_images(shape.value, (*path, _VALUES), seen)


def _at(value: Any, path: Path) -> Iterator[Any]:
    """The values a path reaches in a parsed request; members of the wrong type (the upstream's to refuse) reach
    nothing."""
    if not path:
        yield value
        return
    step, rest = path[0], path[1:]
    if step == _EACH and isinstance(value, list):
        for element in value:
            yield from _at(element, rest)
    elif step == _VALUES and isinstance(value, dict):
        for element in value.values():
            yield from _at(element, rest)
    elif isinstance(step, str) and isinstance(value, dict) and step in value:
        yield from _at(value[step], rest)


def check_custom_images(service: Service, ctx: RequestContext, name: str, request: dict[str, Any]) -> None:
    """Refuses a call naming a custom image, image version or app image config that does not exist in the caller's
    account and region, with ResourceNotFound naming each one missing (in request order, joined by '; ')."""
    images = [
        image
        for path in custom_image_paths().get(name, ())
        for images in _at(request, path)
        if isinstance(images, list)
        for image in images
        if isinstance(image, dict)
    ]
    if not images:
        return
    with service.store.transaction() as tx:
        missing = [message for image in images for message in _missing(tx, ctx, image) if message is not None]
    if missing:
        raise ResourceNotFound("; ".join(dict.fromkeys(missing)))


def _missing(tx: CatalogTx, ctx: RequestContext, image: dict[str, Any]) -> Iterator[str | None]:
    """The not-found message of each thing a CustomImage names that does not exist: its image (else its version,
    when given) and its app image config."""
    name, version, config = image.get("ImageName"), image.get("ImageVersionNumber"), image.get("AppImageConfigName")
    if isinstance(name, str):
        missing_image = _absent(functools.partial(require_image, tx, ctx, name))
        yield missing_image
        if missing_image is None and isinstance(version, int) and not isinstance(version, bool):
            yield _absent(functools.partial(find_version, tx, ctx, name, {"Version": version}))
    if isinstance(config, str):
        yield _absent(functools.partial(require_config, tx, ctx, config))


def _absent(lookup: Callable[[], object]) -> str | None:
    """The message of the ResourceNotFound a lookup raises, or None when what it looks up exists."""
    try:
        lookup()
    except ResourceNotFound as exc:
        return exc.message
    return None
