"""Every HTTP answer the e2e suite receives from gatehouse, checked against docs/openapi.json.

conftest.py installs `install()`: the answers that tests get through `requests` (all of
gatehouse_e2e's helpers), `http.client` and gatehouse_e2e.raw_http are recorded, and after each
test `check_recorded()` fails the test when gatehouse answered something the document does not
describe: a path no path template matches (unless the answer is the document's
`x-gatehouse-unknown-path` one), a method the path does not list (unless the answer is its
`x-gatehouse-other-method` one), a status code the operation does not list, a required header
missing, a header or a body that does not match its schema (JSON Schema Draft 2020-12), a
content type the response does not list, or a body where none is described.

Not checked: answers that carry a `Server` header (gatehouse sends none: those come from the
tests' own servers, the Flask resource server), curl runs of test_doc_snippets.py, and raw-socket
tests that write and parse HTTP themselves (abuse_support's sockets, test_framing, test_config,
test_lifecycle, test_trust_process): most of their requests are malformed on purpose, so there
is no method and path to look the answer up by.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import requests

DOC_PATH_ENV = "GATEHOUSE_OPENAPI_DOC"  # another document to check against (the self-test)
DEFAULT_DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
MAX_BODY_SHOWN = 300


class Answer:
    def __init__(self, method: str, target: str, status: int, headers, body: bytes | None,
                 via: str):
        self.method = method.upper()
        self.path = urlsplit(target).path or "/"
        self.target = target
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}  # the last of repeated fields
        self.header_names = {k.lower() for k, _ in headers}
        self.body = body  # None: not read (a streamed requests answer)
        self.via = via

    def __str__(self):
        body = self.body if self.body is not None else b"<not read>"
        if len(body) > MAX_BODY_SHOWN:
            body = body[:MAX_BODY_SHOWN] + b"..."
        return f"{self.method} {self.target} -> {self.status} {body!r} (via {self.via})"


class Document:
    """docs/openapi.json, compiled for looking answers up."""

    def __init__(self, path: Path):
        self.path = path
        self.doc = json.loads(path.read_bytes())
        self._resolver = jsonschema.RefResolver.from_schema(self.doc)
        self._validators: dict[str, jsonschema.Draft202012Validator] = {}
        exact, templated = [], []
        for template, item in self.doc["paths"].items():
            if "{" in template:
                regex = re.escape(template)
                regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", regex)
                templated.append((re.compile(f"^{regex}$"), template, item))
            else:
                exact.append((template, item))
        self._exact = dict(exact)
        self._templated = templated

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            node = self._resolver.resolve(node["$ref"])[1]
        return node

    def path_item(self, path: str):
        """(template, path item) or (None, None): concrete paths first, as OpenAPI says."""
        if path in self._exact:
            return path, self._exact[path]
        for regex, template, item in self._templated:
            if regex.match(path):
                return template, item
        return None, None

    def _validator(self, schema: dict) -> jsonschema.Draft202012Validator:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            self._validators[key] = jsonschema.Draft202012Validator(
                schema, resolver=self._resolver)
        return self._validators[key]

    def problems(self, answer: Answer) -> list[str]:
        """What in the answer the document does not describe ([] when it all is)."""
        template, item = self.path_item(answer.path)
        if item is None:
            where, responses = "x-gatehouse-unknown-path", self.doc["x-gatehouse-unknown-path"]
        elif answer.method.lower() not in item:
            where, responses = (f"{template} x-gatehouse-other-method",
                                self.doc["x-gatehouse-other-method"])
        else:
            where, responses = f"{answer.method} {template}", item[answer.method.lower()]["responses"]
        response = responses.get(str(answer.status))
        if response is None:
            return [f"{where}: status {answer.status} is not described "
                    f"(described: {', '.join(sorted(responses))})"]
        response = self.resolve(response)
        where = f"{where} {answer.status}"
        return self._header_problems(where, response, answer) + self._body_problems(
            where, response, answer)

    def _header_problems(self, where: str, response: dict, answer: Answer) -> list[str]:
        out = []
        for name, header in response.get("headers", {}).items():
            header = self.resolve(header)
            value = answer.headers.get(name.lower())
            if value is None:
                if header.get("required"):
                    out.append(f"{where}: required header {name} is missing")
                continue
            for error in self._validator(header.get("schema", {})).iter_errors(value):
                out.append(f"{where}: header {name}: {value!r}: {error.message}")
        return out

    def _body_problems(self, where: str, response: dict, answer: Answer) -> list[str]:
        content = response.get("content")
        body = answer.body
        no_body = answer.method == "HEAD" or answer.status in (204, 304)
        if no_body or not content:
            if body:
                why = "a HEAD answer" if answer.method == "HEAD" else "no body is described"
                return [f"{where}: {why}, but the answer has {len(body)} bytes"]
            return []
        content_type = answer.headers.get("content-type", "")
        media = content_type.split(";")[0].strip().lower()
        if media not in content:
            return [f"{where}: content type {content_type!r} is not described "
                    f"(described: {', '.join(content)})"]
        if body is None:  # a streamed answer the test read itself
            return []
        schema = content[media].get("schema", {})
        if media != "application/json":
            return []
        try:
            value = json.loads(body)
        except ValueError as e:
            return [f"{where}: the body is not JSON ({e})"]
        return [f"{where}: body {'/'.join(map(str, error.absolute_path)) or '(root)'}: "
                f"{error.message}" for error in self._validator(schema).iter_errors(value)]


_lock = threading.Lock()
_recorded: list[Answer] = []
_document: Document | None = None


def document() -> Document:
    global _document
    if _document is None:
        _document = Document(Path(os.environ.get(DOC_PATH_ENV) or DEFAULT_DOC))
    return _document


def record(answer: Answer) -> None:
    if "server" in answer.headers:  # not gatehouse's (see the module's docstring)
        return
    with _lock:
        _recorded.append(answer)


def take_recorded() -> list[Answer]:
    with _lock:
        out = list(_recorded)
        _recorded.clear()
        return out


def check_recorded() -> None:
    """Fails (AssertionError) with every undescribed answer recorded since the last call."""
    answers = take_recorded()
    found = []
    for answer in answers:
        problems = document().problems(answer)
        if problems:
            found.append(f"{answer}\n    " + "\n    ".join(problems))
    if found:
        raise AssertionError(
            f"{len(found)} of {len(answers)} answers are not described by "
            f"{document().path}:\n" + "\n".join(found))


# -- what records ---------------------------------------------------------------------------

def _requests_send(original):
    def send(self, request, **kw):
        response = original(self, request, **kw)
        body = None if kw.get("stream") else response.content
        record(Answer(request.method, request.url, response.status_code,
                      list(response.headers.items()), body, "requests"))
        return response
    return send


def _putrequest(original):
    def putrequest(self, method, url, *args, **kw):
        self._gatehouse_target = (method, url)
        return original(self, method, url, *args, **kw)
    return putrequest


def _getresponse(original):
    def getresponse(self):
        response = original(self)
        # Only http.client used directly: urllib3 (under requests) subclasses the connection.
        if type(self) is not http.client.HTTPConnection:
            return response
        method, url = getattr(self, "_gatehouse_target", ("?", "?"))
        data = response.read()
        # The caller reads the same bytes again.
        response.fp, response.length, response.chunked = io.BytesIO(data), len(data), False
        record(Answer(method, url, response.status, response.getheaders(), data, "http.client"))
        return response
    return getresponse


def _raw_http(original):
    def raw_http(port, requests_bytes, *args, **kw):
        answers = original(port, requests_bytes, *args, **kw)
        for request, (status, headers, body) in zip(requests_bytes, answers):
            line = request.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            if len(line) == 3 and line[2].startswith("HTTP/"):
                record(Answer(line[0], line[1], status, list(headers.items()), body, "raw_http"))
        return answers
    return raw_http


_installed = False


def install(gatehouse_e2e_module) -> None:
    global _installed
    if _installed:
        return
    _installed = True
    requests.Session.send = _requests_send(requests.Session.send)
    http.client.HTTPConnection.putrequest = _putrequest(http.client.HTTPConnection.putrequest)
    http.client.HTTPConnection.getresponse = _getresponse(http.client.HTTPConnection.getresponse)
    gatehouse_e2e_module.raw_http = _raw_http(gatehouse_e2e_module.raw_http)
