"""Stack state on S3, against moto's S3 server on 127.0.0.1: what two CI jobs sharing a bucket see.

The backend URL carries the bucket and the query parameters the pinned CLI's blob driver accepts
(gocloud.dev's s3blob, AWS SDK v2); the credentials come from the environment only.
"""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import TOKEN, TOKEN_PATH, cli_environment, copy_stack_files, runner, s3_call

pytestmark = pytest.mark.cli


def backend_url(bucket: str, endpoint: str, **extra: str) -> str:
    query = "&".join([f"endpoint={endpoint}", "use_path_style=true", "region=us-east-1"] + [f"{k}={v}" for k, v in extra.items()])
    return f"s3://{bucket}?{query}"


@pytest.fixture
def job(pulumi_cli, tmp_path):
    """A CI job: its own checkout of the stack files and its own Pulumi home, no backend chosen yet."""

    def make(name: str):
        directory = copy_stack_files(tmp_path / name)
        return runner(pulumi_cli, cli_environment(tmp_path / f"{name}-home", None), directory), directory

    return make


def test_two_projects_sharing_a_bucket_see_the_same_stacks(job, bucket, moto_s3):
    first, first_dir = job("first")
    login = first("login", backend_url(bucket, moto_s3))
    assert "Logged in to" in login.stdout and f"(s3://{bucket}?" in login.stdout
    for stack in ("dev", "staging"):
        first("stack", "init", stack, "--secrets-provider", "passphrase", "--non-interactive")
    first("stack", "select", "dev")
    first("config", "set", "--secret", "--path", TOKEN_PATH, TOKEN)
    listed = json.loads(first("stack", "ls", "--json").stdout)
    assert sorted(s["name"] for s in listed) == ["dev", "staging"]
    exported = first("stack", "export").stdout
    assert json.loads(exported)["deployment"]["secrets_providers"]["type"] == "passphrase"
    assert TOKEN not in exported

    keys = json.loads(s3_call(moto_s3, f"print(json.dumps([o['Key'] for o in s3.list_objects_v2(Bucket={bucket!r})['Contents']]))"))
    assert {".pulumi/stacks/model-fleet/dev.json", ".pulumi/stacks/model-fleet/staging.json"} <= set(keys)

    # The second job checks out the same stack files (with the salt the first one wrote) and logs in.
    second, second_dir = job("second")
    (second_dir / "Pulumi.dev.yaml").write_text((first_dir / "Pulumi.dev.yaml").read_text())
    second("login", backend_url(bucket, moto_s3))
    listed = json.loads(second("stack", "ls", "--json").stdout)
    assert sorted(s["name"] for s in listed) == ["dev", "staging"]
    second("stack", "select", "staging")
    second("stack", "select", "dev")
    assert second("stack", "export").stdout == exported
    assert second("config", "get", "--path", TOKEN_PATH).stdout.strip() == TOKEN


def test_the_cli_refuses_a_query_parameter_its_blob_driver_does_not_know(job, bucket, moto_s3):
    first, _ = job("first")
    result = first("login", backend_url(bucket, moto_s3, forcePathStyle="true"), check=False)
    assert result.returncode != 0
    assert 'unknown query parameter "forcePathStyle"' in result.stderr


def test_the_aws_sdk_v1_names_still_work(job, bucket, moto_s3):
    # s3ForcePathStyle is use_path_style's old name; the CLI turns disableSSL into disable_https
    # and gives a scheme-less endpoint http://.
    first, _ = job("first")
    first("login", f"s3://{bucket}?endpoint={moto_s3.removeprefix('http://')}&disableSSL=true&s3ForcePathStyle=true&region=us-east-1")
    first("stack", "init", "dev", "--secrets-provider", "passphrase", "--non-interactive")
    assert [s["name"] for s in json.loads(first("stack", "ls", "--json").stdout)] == ["dev"]
