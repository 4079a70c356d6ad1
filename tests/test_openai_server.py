"""Tests of the stand-in OpenAI server (tests/openai_server.py) with the real openai client and real
curl/jq: it runs on 127.0.0.1 in this process's threads, curl in a process of its own."""

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
from openai.types import Batch, Completion, CreateEmbeddingResponse, FileObject
from openai.types.chat import ChatCompletion

from tests.openai_server import FakeOpenAI

pytestmark = pytest.mark.loopback

API_KEY = "test-key"
MODEL = "fleet/llama-3-8b-instruct"

needs_curl_jq = pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("jq")),
    reason="the curl and jq binaries are needed to run bash snippets",
)


@pytest.fixture
def server():
    with FakeOpenAI(api_key=API_KEY, known_models={MODEL}) as fake:
        yield fake


@pytest.fixture
def client(server):
    with openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0) as oai:
        yield oai


def strict(obj):
    """The client builds responses leniently; re-validate so a wrong shape fails the test."""
    return type(obj).model_validate(obj.model_dump())


def batch_input(model=MODEL, count=3) -> bytes:
    return "".join(
        json.dumps(
            {
                "custom_id": f"request-{i}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"model": model, "messages": [{"role": "user", "content": f"Question {i}?"}]},
            }
        )
        + "\n"
        for i in range(count)
    ).encode()


def run_bash(server, script, cwd):
    env = {**os.environ, **server.env, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_wrong_api_key_is_rejected(server):
    with openai.OpenAI(api_key="wrong-key", base_url=server.base_url, max_retries=0) as bad_client:
        with pytest.raises(openai.AuthenticationError) as excinfo:
            bad_client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert excinfo.value.status_code == 401
    assert excinfo.value.code == "invalid_api_key"
    assert excinfo.value.type == "invalid_request_error"
    [recorded] = server.requests
    assert recorded.status == 401
    assert recorded.headers["authorization"] == "Bearer wrong-key"
    assert recorded.json["model"] == MODEL


def test_chat_completion_round_trip(server, client):
    response = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Say hello"}], temperature=0)
    strict(response)
    assert response.object == "chat.completion"
    assert response.model == MODEL
    assert response.choices[0].message.role == "assistant"
    assert response.choices[0].message.content == f"Hello from {MODEL}."
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens
    [recorded] = server.requests_to("/v1/chat/completions", method="POST")
    assert recorded.json == {"model": MODEL, "messages": [{"role": "user", "content": "Say hello"}], "temperature": 0}
    assert recorded.headers["authorization"] == f"Bearer {API_KEY}"
    assert recorded.status == 200


def test_chat_completion_stream(client):
    chunks = list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True))
    assert all(chunk.model == MODEL for chunk in chunks)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == f"Hello from {MODEL}."
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_text_completion_round_trip(server, client):
    response = strict(client.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=5))
    assert isinstance(response, Completion)
    assert response.object == "text_completion"
    assert response.model == MODEL
    assert response.choices[0].text
    assert response.usage.prompt_tokens == 4
    assert server.requests_to("/v1/completions")[0].json["prompt"] == "Once upon a time"


@pytest.mark.parametrize("encoding_format", [None, "float"])
def test_embeddings_round_trip(server, client, encoding_format):
    kwargs = {"encoding_format": encoding_format} if encoding_format else {}
    response = strict(client.embeddings.create(model=MODEL, input=["first", "second"], **kwargs))
    assert response.model == MODEL
    assert [item.index for item in response.data] == [0, 1]
    first, second = (item.embedding for item in response.data)
    assert len(first) == 8 and all(isinstance(x, float) for x in first)
    assert first != second
    # With no explicit format the openai client requests base64 and decodes it; both must give the same vector.
    assert server.requests_to("/v1/embeddings")[0].json["encoding_format"] == (encoding_format or "base64")
    raw_base64 = client.embeddings.create(model=MODEL, input="first", encoding_format="base64").data[0].embedding
    assert struct.unpack("<8f", base64.b64decode(raw_base64)) == tuple(first)


def test_unknown_model_is_404(server, client):
    with pytest.raises(openai.NotFoundError) as excinfo:
        client.chat.completions.create(model="gpt-nonexistent", messages=[{"role": "user", "content": "hi"}])
    assert excinfo.value.code == "model_not_found"
    assert "gpt-nonexistent" in excinfo.value.message
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="gpt-nonexistent", input="x")
    assert [r.status for r in server.requests] == [404, 404]


def test_any_model_is_accepted_without_known_models():
    with FakeOpenAI(api_key=API_KEY) as fake, openai.OpenAI(api_key=API_KEY, base_url=fake.base_url, max_retries=0) as oai:
        assert oai.completions.create(model="whatever", prompt="x").model == "whatever"


def call(server, path, data=None):
    """A plain HTTP call, for requests the openai client cannot make; returns (status, JSON body)."""
    request = urllib.request.Request(server.base_url + path, data, {"Authorization": f"Bearer {API_KEY}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_invalid_json_and_unknown_route(server):
    status, body = call(server, "/chat/completions", b"{not json")
    assert status == 400 and "could not parse the JSON" in body["error"]["message"]
    assert call(server, "/nope") == (
        404,
        {
            "error": {
                "message": "Invalid URL (GET /v1/nope)",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        },
    )


def test_file_upload_via_client(server, client):
    # CRLF, non-UTF-8 bytes and no final newline must all survive the multipart round trip.
    content = b'{"a": 1}\r\n{"b": 2}\n' + bytes(range(256))
    uploaded = strict(client.files.create(file=("data.jsonl", content), purpose="batch"))
    assert isinstance(uploaded, FileObject)
    assert (uploaded.object, uploaded.purpose, uploaded.status) == ("file", "batch", "processed")
    assert (uploaded.filename, uploaded.bytes) == ("data.jsonl", len(content))
    assert uploaded.id.startswith("file-")
    assert client.files.retrieve(uploaded.id) == uploaded
    assert client.files.content(uploaded.id).content == content
    [recorded] = server.requests_to("/v1/files")
    assert recorded.form == {"purpose": "batch"}
    assert recorded.files["file"].filename == "data.jsonl"
    assert recorded.files["file"].content == content
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve("file-missing")


def test_concurrent_requests_are_all_recorded(server, client):
    def ask(i):
        return client.completions.create(model=MODEL, prompt=f"prompt {i}").model

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(ask, range(40))) == [MODEL] * 40
    prompts = sorted(r.json["prompt"] for r in server.requests_to("/v1/completions"))
    assert prompts == sorted(f"prompt {i}" for i in range(40))


def test_batch_flow_to_completed():
    with (
        FakeOpenAI(api_key=API_KEY, batch_polls_before_done=2, batch_outcome="completed") as server,
        openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0) as client,
    ):
        upload = client.files.create(file=("requests.jsonl", batch_input()), purpose="batch")
        batch = strict(client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"))
        assert isinstance(batch, Batch)
        assert (batch.object, batch.status, batch.endpoint) == ("batch", "validating", "/v1/chat/completions")
        assert (batch.input_file_id, batch.completion_window) == (upload.id, "24h")
        assert batch.output_file_id is None and batch.errors is None

        polled = [strict(client.batches.retrieve(batch.id)) for _ in range(3)]
        assert [b.status for b in polled] == ["in_progress", "completed", "completed"]
        assert polled[0].output_file_id is None
        done = polled[-1]
        assert done.request_counts.model_dump() == {"total": 3, "completed": 3, "failed": 0}
        assert done.completed_at is not None and done.completed_at >= batch.created_at

        output = client.files.retrieve(done.output_file_id)
        assert output.purpose == "batch_output"
        results = [json.loads(line) for line in client.files.content(done.output_file_id).text.splitlines()]
        assert [r["custom_id"] for r in results] == ["request-0", "request-1", "request-2"]
        for result in results:
            assert result["error"] is None and result["response"]["status_code"] == 200
            assert ChatCompletion.model_validate(result["response"]["body"]).model == MODEL

        [upload_request] = server.requests_to("/v1/files")
        assert upload_request.form["purpose"] == "batch"
        assert len(upload_request.files["file"].content.splitlines()) == 3
        [create_request] = server.requests_to("/v1/batches")
        assert create_request.json == {"input_file_id": upload.id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
        assert len(server.requests_to(f"/v1/batches/{batch.id}", method="GET")) == 3


@pytest.mark.parametrize(
    "endpoint,response_type",
    [
        ("/v1/completions", Completion),
        ("/v1/embeddings", CreateEmbeddingResponse),
    ],
)
def test_batch_output_matches_endpoint(server, client, endpoint, response_type):
    body = {"model": MODEL, "prompt": "hi"} if endpoint == "/v1/completions" else {"model": MODEL, "input": "hi"}
    line = json.dumps({"custom_id": "only", "method": "POST", "url": endpoint, "body": body})
    upload = client.files.create(file=("in.jsonl", line.encode()), purpose="batch")
    batch = client.batches.create(input_file_id=upload.id, endpoint=endpoint, completion_window="24h")
    while (batch := client.batches.retrieve(batch.id)).status != "completed":
        pass
    [result] = [json.loads(x) for x in client.files.content(batch.output_file_id).text.splitlines()]
    assert response_type.model_validate(result["response"]["body"]).model == MODEL


@pytest.mark.parametrize(
    "outcome,statuses",
    [
        ("completed", ["in_progress", "finalizing", "completed"]),
        ("failed", ["in_progress", "in_progress", "failed"]),
        ("cancelled", ["in_progress", "cancelling", "cancelled"]),
        ("expired", ["in_progress", "in_progress", "expired"]),
    ],
)
def test_batch_status_progression(outcome, statuses):
    with (
        FakeOpenAI(api_key=API_KEY, batch_polls_before_done=3, batch_outcome=outcome) as server,
        openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0) as client,
    ):
        upload = client.files.create(file=("requests.jsonl", batch_input()), purpose="batch")
        batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
        polled = [strict(client.batches.retrieve(batch.id)) for _ in range(4)]
    assert [b.status for b in polled] == statuses + [outcome]
    ended_at = getattr(polled[-1], f"{outcome}_at")
    assert ended_at is not None and ended_at >= batch.created_at
    assert (polled[-1].output_file_id is not None) == (outcome == "completed")


def test_batch_ending_failed():
    with (
        FakeOpenAI(api_key=API_KEY, batch_outcome="failed") as server,
        openai.OpenAI(api_key=API_KEY, base_url=server.base_url, max_retries=0) as client,
    ):
        upload = client.files.create(file=("requests.jsonl", batch_input()), purpose="batch")
        batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
        statuses = [client.batches.retrieve(batch.id).status for _ in range(2)]
        failed = client.batches.retrieve(batch.id)
    assert statuses == ["in_progress", "failed"]
    assert failed.status == "failed" and failed.failed_at is not None
    assert failed.output_file_id is None
    assert failed.errors.data[0].code
    assert failed.request_counts.completed == 0


def test_batch_with_invalid_jsonl_fails_validation(server, client):
    upload = client.files.create(file=("bad.jsonl", b'{"custom_id": "ok"}\nnot json\n'), purpose="batch")
    batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h")
    for _ in range(2):
        batch = client.batches.retrieve(batch.id)
    assert batch.status == "failed"
    assert [(e.code, e.line) for e in batch.errors.data] == [("invalid_json_line", 2)]


def test_batch_errors(client):
    with pytest.raises(openai.NotFoundError):
        client.batches.create(input_file_id="file-missing", endpoint="/v1/chat/completions", completion_window="24h")
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_missing")


def test_close_stops_the_server():
    server = FakeOpenAI()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5):
        pass
    server.close()
    server.close()  # idempotent
    assert not server._thread.is_alive()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=5).close()


@needs_curl_jq
def test_curl_chat_and_auth_failure(server, tmp_path):
    script = f"""
    curl -sS --fail-with-body "$OPENAI_BASE_URL/chat/completions" \\
      -H "Authorization: Bearer $OPENAI_API_KEY" -H "Content-Type: application/json" \\
      -d '{{"model": "{MODEL}", "messages": [{{"role": "user", "content": "hi"}}]}}' \\
      | jq -r '.choices[0].message.content'
    curl -sS -o unauthorized.json -w '%{{http_code}}\\n' "$OPENAI_BASE_URL/models" -H "Authorization: Bearer nope"
    jq -r '.error.code' unauthorized.json
    """
    result = run_bash(server, script, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"Hello from {MODEL}.", "401", "invalid_api_key"]
    assert server.requests_to("/v1/chat/completions")[0].json["model"] == MODEL


@needs_curl_jq
def test_curl_file_upload(server, tmp_path):
    (tmp_path / "requests.jsonl").write_bytes(batch_input())
    script = """
    FILE_ID=$(curl -sS --fail-with-body "$OPENAI_BASE_URL/files" -H "Authorization: Bearer $OPENAI_API_KEY" \\
      -F purpose=batch -F file=@requests.jsonl | jq -r .id)
    curl -sS --fail-with-body "$OPENAI_BASE_URL/files/$FILE_ID" -H "Authorization: Bearer $OPENAI_API_KEY" \\
      | jq -c '[.object, .filename, .purpose, .status, .bytes]'
    curl -sS --fail-with-body "$OPENAI_BASE_URL/files/$FILE_ID/content" -H "Authorization: Bearer $OPENAI_API_KEY" \\
      -o downloaded.jsonl
    """
    result = run_bash(server, script, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["file", "requests.jsonl", "batch", "processed", len(batch_input())]
    assert (tmp_path / "downloaded.jsonl").read_bytes() == batch_input()
    [recorded] = server.requests_to("/v1/files", method="POST")
    assert recorded.form == {"purpose": "batch"}
    assert recorded.files["file"].filename == "requests.jsonl"
    assert len(recorded.files["file"].content.splitlines()) == 3


@needs_curl_jq
def test_curl_batch_flow(server, tmp_path):
    (tmp_path / "requests.jsonl").write_bytes(batch_input())
    script = """
    AUTH="Authorization: Bearer $OPENAI_API_KEY"
    FILE_ID=$(curl -sS --fail-with-body "$OPENAI_BASE_URL/files" -H "$AUTH" \\
      -F purpose=batch -F file=@requests.jsonl | jq -r .id)
    BATCH_ID=$(jq -n --arg f "$FILE_ID" '{input_file_id: $f, endpoint: "/v1/chat/completions", completion_window: "24h"}' \\
      | curl -sS --fail-with-body "$OPENAI_BASE_URL/batches" -H "$AUTH" -H "Content-Type: application/json" -d @- \\
      | jq -r .id)
    for _ in $(seq 10); do
      STATUS=$(curl -sS --fail-with-body "$OPENAI_BASE_URL/batches/$BATCH_ID" -H "$AUTH" | jq -r .status)
      [ "$STATUS" = completed ] && break
    done
    OUTPUT_ID=$(curl -sS --fail-with-body "$OPENAI_BASE_URL/batches/$BATCH_ID" -H "$AUTH" | jq -r .output_file_id)
    curl -sS --fail-with-body "$OPENAI_BASE_URL/files/$OUTPUT_ID/content" -H "$AUTH" \\
      | jq -r '"\\(.custom_id) \\(.response.body.model)"'
    """
    result = run_bash(server, script, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"request-{i} {MODEL}" for i in range(3)]
    assert server.requests_to("/v1/batches")[0].json["input_file_id"].startswith("file-")
