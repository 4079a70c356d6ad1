"""A fake OpenAI-compatible HTTP server for tests: stdlib only, bound to 127.0.0.1.

The snippets are proven against the real servers (vLLM and AIBrix's batch service, the
`servers` tier in tests/servers). This stand-in stays for what those cannot be made to do on
demand: a batch that fails, is cancelled or expires, or sits in a status word no client knows;
a given number of polls before it ends (the wait between them); an answer that never comes or a
401 with a given body; and a record of every request as it was sent (the exact model ID, path,
headers and uploaded file a snippet sent, which a real server accepts without telling).

with FakeOpenAI(api_key="test-key", known_models={"my-model"}) as server:
    client = openai.OpenAI(api_key="test-key", base_url=server.base_url)
    ...
    [req] = server.requests_to("/v1/chat/completions")
    assert req.json["model"] == "my-model"
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import json
import re
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BATCH_OUTCOMES = ("completed", "failed", "cancelled", "expired")
JSON = "application/json"
EMBEDDING_DIMENSIONS = 8


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


@dataclass
class UploadedFile:
    filename: str
    content: bytes


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    raw: bytes
    json: object = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)
    status: int = 0


@dataclass
class _Batch:
    obj: dict
    lines: list[dict]
    outcome: str
    errors: list[dict]
    polls: int = 0


def _now() -> int:
    return int(time.time())


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


def _tokens(text: object) -> int:
    return len(str(text).split())


def _usage(prompt: str, completion: str) -> dict:
    p, c = _tokens(prompt), _tokens(completion)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def _chat_reply(model: object) -> str:
    return f"Hello from {model}."


def chat_completion(body: dict) -> dict:
    model, reply = body.get("model"), _chat_reply(body.get("model"))
    prompt = " ".join(str(m.get("content", "")) for m in body.get("messages") or [] if isinstance(m, dict))
    return {
        "id": _new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": _now(),
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "logprobs": None,
                "message": {"role": "assistant", "content": reply, "refusal": None},
            }
        ],
        "usage": _usage(prompt, reply),
        "system_fingerprint": None,
    }


def chat_completion_stream(body: dict) -> bytes:
    base = {"id": _new_id("chatcmpl-"), "object": "chat.completion.chunk", "created": _now(), "model": body["model"]}
    deltas = [({"role": "assistant", "content": ""}, None), ({"content": _chat_reply(body["model"])}, None), ({}, "stop")]
    events = [{**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]} for delta, finish in deltas]
    return "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode() + b"data: [DONE]\n\n"


def text_completion(body: dict) -> dict:
    model = body.get("model")
    text = f" Completion from {model}."
    return {
        "id": _new_id("cmpl-"),
        "object": "text_completion",
        "created": _now(),
        "model": model,
        "choices": [{"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}],
        "usage": _usage(body.get("prompt", ""), text),
        "system_fingerprint": None,
    }


def embedding_vector(text: object, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """Deterministic per input; k/256 values survive the client's float32 base64 round trip exactly."""
    digest = hashlib.shake_256(json.dumps(text).encode()).digest(dimensions)
    return [b / 256 for b in digest]


def embeddings(body: dict) -> dict:
    inputs = body.get("input")
    # A list of token ids is a single input; a list of strings or token lists is several.
    items = inputs if isinstance(inputs, list) and inputs and not isinstance(inputs[0], int) else [inputs]
    dimensions = int(body.get("dimensions") or EMBEDDING_DIMENSIONS)
    data = []
    for index, item in enumerate(items):
        vector = embedding_vector(item, dimensions)
        encoded: list[float] | str = vector
        if body.get("encoding_format") == "base64":
            encoded = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(_tokens(i) for i in items)
    return {
        "object": "list",
        "data": data,
        "model": body.get("model"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


BATCH_ENDPOINTS = {
    "/v1/chat/completions": chat_completion,
    "/v1/completions": text_completion,
    "/v1/embeddings": embeddings,
}


def parse_multipart(content_type: str, raw: bytes) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    # The email parser needs the Content-Type (with its boundary) as a header of the body it parses.
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw
    )
    if not message.is_multipart():
        raise ApiError(400, "Could not parse the multipart/form-data body of your request.")
    form: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        content = part.get_payload(decode=True) or b""
        assert isinstance(content, bytes)  # a decoded leaf part
        filename = part.get_filename()
        if filename is None:
            form[name] = content.decode("utf-8", "replace")
        else:
            files[name] = UploadedFile(filename, content)
    return form, files


class FakeOpenAI:
    """Serves a subset of the OpenAI API on http://127.0.0.1:<random port>/v1 in a background thread."""

    def __init__(
        self,
        api_key: str = "test-key",
        *,
        known_models: set[str] | None = None,
        batch_polls_before_done: int = 2,
        batch_outcome: str = "completed",
        batch_waiting_status: str = "in_progress",
    ):
        if batch_outcome not in BATCH_OUTCOMES:
            raise ValueError(f"batch_outcome must be one of {BATCH_OUTCOMES}, not {batch_outcome!r}")
        self.api_key = api_key
        self.known_models = known_models
        self.batch_polls_before_done = batch_polls_before_done
        self.batch_outcome = batch_outcome
        # What a batch reports while it runs: a word no client knows shows how one copes.
        self.batch_waiting_status = batch_waiting_status
        self._lock = threading.RLock()
        self._requests: list[RecordedRequest] = []
        self._files: dict[str, tuple[dict, bytes]] = {}
        self._batches: dict[str, _Batch] = {}
        self._routes = [
            ("POST", re.compile(r"/v1/chat/completions"), self._chat),
            ("POST", re.compile(r"/v1/completions"), self._completion),
            ("POST", re.compile(r"/v1/embeddings"), self._embeddings),
            ("POST", re.compile(r"/v1/files"), self._upload_file),
            ("GET", re.compile(r"/v1/files/(?P<file_id>[^/]+)"), self._get_file),
            ("GET", re.compile(r"/v1/files/(?P<file_id>[^/]+)/content"), self._file_content),
            ("POST", re.compile(r"/v1/batches"), self._create_batch),
            ("GET", re.compile(r"/v1/batches/(?P<batch_id>[^/]+)"), self._get_batch),
        ]
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]  # how _Handler finds its server
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        # A short poll interval keeps close() (and so each test) from waiting the default 0.5 s.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-openai", daemon=True)
        self._thread.start()
        self._closed = False

    def __enter__(self) -> FakeOpenAI:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    @property
    def env(self) -> dict[str, str]:
        """The variables the openai client and documentation snippets read."""
        return {"OPENAI_API_KEY": self.api_key, "OPENAI_BASE_URL": self.base_url}

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    def file_content(self, file_id: str) -> bytes:
        with self._lock:
            return self._files[file_id][1]

    # -- request handling (called from handler threads) --

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int, bytes, str]:
        url = urlsplit(target)
        req = RecordedRequest(method, url.path, parse_qs(url.query), headers, raw)
        body_error = None
        try:
            if headers.get("content-type", "").startswith("multipart/form-data"):
                req.form, req.files = parse_multipart(headers["content-type"], raw)
            elif raw.strip():
                req.json = json.loads(raw)
        except (ValueError, ApiError) as e:
            body_error = (
                e if isinstance(e, ApiError) else ApiError(400, "We could not parse the JSON body of your request. Please send valid JSON.")
            )
        try:
            if url.path.startswith("/v1"):
                self._check_auth(headers)
            handler, params = self._route(method, url.path)
            if body_error:
                raise body_error
            status, body, content_type = handler(req, **params)
        except ApiError as e:
            status, body, content_type = e.status, json.dumps(e.body).encode(), JSON
        req.status = status
        # Recorded before the response is sent so a client sees it as soon as its call returns.
        with self._lock:
            self._requests.append(req)
        return status, body, content_type

    def _check_auth(self, headers: dict[str, str]) -> None:
        if headers.get("authorization") != f"Bearer {self.api_key}":
            raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")

    def _route(self, method: str, path: str):
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                return handler, match.groupdict()
        raise ApiError(404, f"Invalid URL ({method} {path})")

    def _model_body(self, req: RecordedRequest) -> dict:
        body = req.json if isinstance(req.json, dict) else {}
        model = body.get("model")
        if not model:
            raise ApiError(400, "you must provide a model parameter", param="model")
        if self.known_models is not None and model not in self.known_models:
            raise ApiError(404, f"The model `{model}` does not exist or you do not have access to it.", code="model_not_found")
        return body

    def _chat(self, req):
        body = self._model_body(req)
        if body.get("stream"):
            return 200, chat_completion_stream(body), "text/event-stream"
        return _json(chat_completion(body))

    def _completion(self, req):
        return _json(text_completion(self._model_body(req)))

    def _embeddings(self, req):
        return _json(embeddings(self._model_body(req)))

    def _upload_file(self, req):
        upload, purpose = req.files.get("file"), req.form.get("purpose")
        if upload is None:
            raise ApiError(400, "Missing required parameter: 'file'.", param="file")
        if not purpose:
            raise ApiError(400, "Missing required parameter: 'purpose'.", param="purpose")
        return _json(self._store_file(upload.filename, upload.content, purpose))

    def _store_file(self, filename: str, content: bytes, purpose: str) -> dict:
        obj = {
            "id": _new_id("file-"),
            "object": "file",
            "bytes": len(content),
            "created_at": _now(),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }
        with self._lock:
            self._files[str(obj["id"])] = (obj, content)
        return obj

    def _stored_file(self, file_id: str) -> tuple[dict, bytes]:
        with self._lock:
            if file_id not in self._files:
                raise ApiError(404, f"No such File object: {file_id}", param="id")
            return self._files[file_id]

    def _get_file(self, req, file_id):
        return _json(self._stored_file(file_id)[0])

    def _file_content(self, req, file_id):
        return 200, self._stored_file(file_id)[1], "application/octet-stream"

    def _create_batch(self, req):
        body = req.json if isinstance(req.json, dict) else {}
        for key in ("input_file_id", "endpoint", "completion_window"):
            if not body.get(key):
                raise ApiError(400, f"Missing required parameter: '{key}'.", param=key)
        if body["endpoint"] not in BATCH_ENDPOINTS:
            raise ApiError(400, f"Unsupported batch endpoint: {body['endpoint']}", param="endpoint")
        _, content = self._stored_file(body["input_file_id"])
        lines, errors = [], []
        for number, line in enumerate(content.decode("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                lines.append(json.loads(line))
            except ValueError:
                errors.append(
                    {"code": "invalid_json_line", "message": "This line is not parseable as valid JSON.", "param": None, "line": number}
                )
        created = _now()
        obj = {
            "id": _new_id("batch_"),
            "object": "batch",
            "endpoint": body["endpoint"],
            "errors": None,
            "input_file_id": body["input_file_id"],
            "completion_window": body["completion_window"],
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": created,
            "in_progress_at": None,
            "expires_at": created + 24 * 3600,
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": body.get("metadata"),
        }
        # Invalid input fails the batch whatever outcome was configured, as validation would.
        outcome = "failed" if errors else self.batch_outcome
        with self._lock:
            self._batches[obj["id"]] = _Batch(obj, lines, outcome, errors)
        return _json(obj)

    def _get_batch(self, req, batch_id):
        with self._lock:
            batch = self._batches.get(batch_id)
            if batch is None:
                raise ApiError(404, f"No batch found with id '{batch_id}'.", param="batch_id")
            batch.polls += 1
            status = self._batch_status(batch)
            if status != batch.obj["status"]:
                self._advance(batch, status)
            return _json(batch.obj)

    def _batch_status(self, batch: _Batch) -> str:
        if batch.polls >= self.batch_polls_before_done:
            return batch.outcome
        last_step = {"completed": "finalizing", "cancelled": "cancelling"}.get(batch.outcome)
        if last_step and batch.polls > 1 and batch.polls == self.batch_polls_before_done - 1:
            return last_step
        return self.batch_waiting_status

    def _advance(self, batch: _Batch, status: str) -> None:
        obj, now, total = batch.obj, _now(), len(batch.lines)
        obj["status"] = status
        obj[f"{status}_at"] = now
        if status == "completed":
            build = BATCH_ENDPOINTS[obj["endpoint"]]
            output = "".join(
                json.dumps(
                    {
                        "id": _new_id("batch_req_"),
                        "custom_id": line.get("custom_id"),
                        "error": None,
                        "response": {"status_code": 200, "request_id": _new_id("req_"), "body": build(line.get("body") or {})},
                    }
                )
                + "\n"
                for line in batch.lines
            ).encode()
            obj["output_file_id"] = self._store_file(f"{obj['id']}_output.jsonl", output, "batch_output")["id"]
            obj["request_counts"] = {"total": total, "completed": total, "failed": 0}
        elif status == "failed":
            obj["errors"] = {
                "object": "list",
                "data": batch.errors or [{"code": "batch_failed", "message": "The batch failed (simulated).", "param": None, "line": None}],
            }
        elif status in ("cancelled", "expired"):
            obj["request_counts"] = {"total": total, "completed": 0, "failed": 0}


def _json(obj: dict) -> tuple[int, bytes, str]:
    return 200, json.dumps(obj).encode(), JSON


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so curl's "Expect: 100-continue" is answered at once instead of after its 1 s wait.
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self._serve()

    def do_POST(self):
        self._serve()

    def do_DELETE(self):
        self._serve()

    def _serve(self):
        raw = self._read_body()
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, body, content_type = self.server.fake.handle(self.command, self.path, headers, raw)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", _new_id("req_"))
        self.end_headers()
        self.wfile.write(body)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0], 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
            pass
        return b"".join(chunks)

    def log_message(self, format, *args):
        pass
