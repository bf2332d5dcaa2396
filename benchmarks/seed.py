"""Bulk seeding: an image made by CreateImage, then versions written in bulk as CreateImageVersion settles them."""

from sqlalchemy import insert, select, update

from smimages.store import Store
from smimages.store.schema import image_versions, images
from smimages.testing import InProcess

ROLE_ARN = "arn:aws:iam::123456789012:role/bench"
BASE_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/bench:latest"
SEED_EPOCH = 1_767_225_600.0  # version v is created at SEED_EPOCH + v seconds
BATCH = 50_000


KERNEL_GATEWAY = {
    "KernelSpecs": [{"Name": "python3", "DisplayName": "Python 3 (ipykernel)"}],
    "FileSystemConfig": {"MountPath": "/home/sagemaker-user", "DefaultUid": 1000, "DefaultGid": 100},
}


def create_image(db_url: str, *names: str) -> None:
    """Creates images through the real CreateImage path (migrating the database first)."""
    service = InProcess(db_url)
    try:
        client = service.client()
        for name in names:
            client.create_image(ImageName=name, RoleArn=ROLE_ARN)
    finally:
        service.close()


def create_listed(db_url: str, count: int) -> None:
    """`count` images and `count` app image configs (each with a kernel gateway configuration) through CreateImage
    and CreateAppImageConfig, so that ListImages and ListAppImageConfigs answer full pages."""
    service = InProcess(db_url)
    try:
        client = service.client()
        for n in range(count):
            client.create_image(
                ImageName=f"listed-{n:04d}",
                RoleArn=ROLE_ARN,
                DisplayName=f"Listed image {n}",
                Description="An image seeded for the list calls",
            )
            client.create_app_image_config(
                AppImageConfigName=f"listed-{n:04d}", KernelGatewayImageConfig=KERNEL_GATEWAY
            )
    finally:
        service.close()


def _version_row(image_id: int, number: int) -> dict:
    """The row CreateImageVersion writes once its CREATING -> CREATED transition is materialized."""
    created = SEED_EPOCH + number
    return {
        "image_id": image_id,
        "version": number,
        "client_token": f"seed-{number}",
        "base_image": BASE_IMAGE,
        "container_image": BASE_IMAGE,
        "vendor_guidance": None,
        "job_type": None,
        "ml_framework": None,
        "programming_lang": None,
        "processor": None,
        "horovod": None,
        "release_notes": None,
        "status": "CREATED",
        "failure_reason": None,
        "created_at": created,
        "modified_at": created,
        "pending_status": None,
        "pending_reason": None,
        "due_at": None,
    }


def grow_versions(db_url: str, name: str, total: int) -> None:
    """Adds versions to image `name` until it has `total`, in batched executemany inserts, then has PostgreSQL
    gather the statistics a catalog that has been running for a minute has (autovacuum's ANALYZE): without them its
    planner picks the wrong index for a version lookup after a bulk load."""
    store = Store(db_url)
    try:
        with store.engine.begin() as conn:
            image = conn.execute(select(images.c.id, images.c.next_version).where(images.c.name == name)).one()
        for start in range(image.next_version + 1, total + 1, BATCH):
            numbers = range(start, min(start + BATCH, total + 1))
            with store.engine.begin() as conn:
                conn.execute(insert(image_versions), [_version_row(image.id, n) for n in numbers])
                conn.execute(update(images).where(images.c.id == image.id).values(next_version=numbers[-1]))
        if store.dialect == "postgresql":
            with store.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    finally:
        store.dispose()
