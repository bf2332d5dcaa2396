"""The Studio custom-image chain of docs/upstream.md, run as written: the AWS CLI walkthrough (it starts moto's server
and `smimages serve --upstream` itself), and the Terraform steps with moto's gaps worked around as the page says."""

from support import ROOT, free_port
from support.clients import Terraform, client_env, doc_block, run

PAGE = "docs/upstream.md"
MISSING = (
    "An error occurred (ResourceNotFound) when calling the CreateDomain operation: AppImageConfig with ARN "
    "arn:aws:sagemaker:us-east-1:123456789012:app-image-config/no-such-config does not exist"
)


def test_the_cli_walkthrough():
    script = doc_block(PAGE, "# Studio custom-image chain")
    env = client_env(MOTO_PORT=str(free_port()), SMIMAGES_PORT=str(free_port()))
    result = run(["bash", "-c", script], env, cwd=ROOT, timeout=600)
    assert "refused, as expected" in result.stdout
    assert MISSING in result.stderr
    printed = " ".join(result.stdout.split())
    attached = '{ "ImageName": "studio-image", "ImageVersionNumber": 1, "AppImageConfigName": "studio-kernel" }'
    assert f"[ {attached} ]" in printed  # describe-domain, answered by moto
    assert printed.endswith("[]")  # list-domains after the teardown


def test_the_terraform_steps(terraform_ready, server_factory, moto, tmp_path):
    server = server_factory("--db", "sqlite://", "--upstream", moto.url).start()
    tf = Terraform(tmp_path / "work", client_env(TF_VAR_endpoint=server.url, AWS_ENDPOINT_URL_SAGEMAKER=server.url))

    def step(first_line: str):
        return run(["bash", "-e", "-c", doc_block(PAGE, first_line)], tf.env, cwd=tf.workdir, timeout=600)

    (tf.workdir / "main.tf").write_text(doc_block(PAGE, "# main.tf"))
    created = step("# step 1 ")
    assert "Apply complete! Resources: 3 added" in created.stdout
    assert '"DomainArn": "arn:aws:sagemaker:us-east-1:123456789012:domain/d-studio"' in created.stdout

    (tf.workdir / "domain.tf").write_text(doc_block(PAGE, "# domain.tf"))
    imported = step("# step 2 ")
    assert "Apply complete! Resources: 1 imported, 0 added, 0 changed, 0 destroyed." in imported.stdout
    assert "No changes." in imported.stdout

    destroyed = step("# step 3 ")
    assert "Destroy complete! Resources: 3 destroyed." in destroyed.stdout
    sm = server.client("123456789012")
    assert (sm.list_images()["Images"], sm.list_app_image_configs()["AppImageConfigs"]) == ([], [])
    assert sm.list_domains()["Domains"] == []
