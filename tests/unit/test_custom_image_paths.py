"""Where a request can name custom images, as read from the model (the calls smimages checks before forwarding)."""

from smimages.operations.references import custom_image_paths


def test_every_input_that_can_name_custom_images():
    """Read from the model: a new place for CustomImages in a botocore release is checked without a code change."""
    paths = custom_image_paths()
    user = [(f"{s}AppSettings", "CustomImages") for s in ("KernelGateway", "RSession", "CodeEditor", "JupyterLab")]
    space = [(f"{s}AppSettings", "CustomImages") for s in ("KernelGateway", "JupyterLab")]
    domains, profiles, spaces = (
        {"CreateDomain", "UpdateDomain"},
        {"CreateUserProfile", "UpdateUserProfile"},
        {
            "CreateSpace",
            "UpdateSpace",
        },
    )
    assert set(paths) >= domains | profiles | spaces
    for name in domains:
        assert set(paths[name]) >= {("DefaultUserSettings", *p) for p in user} | {
            ("DefaultSpaceSettings", *p) for p in space
        }
    for name in profiles:
        assert set(paths[name]) >= {("UserSettings", *p) for p in user}
    for name in spaces:
        assert set(paths[name]) >= {("SpaceSettings", "KernelGatewayAppSettings", "CustomImages")}
