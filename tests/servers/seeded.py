"""A mutating reverse proxy: a clean Tasks API behind it, seeded violations of the contract in front.

The contract suite's proof of detection must hold on a server it was not built with, so the
violations live here, not in the product: :class:`SeededProxy` is an ASGI app that forwards every
request to an upstream base URL (with httpx) and mutates requests, answers and webhooks as each
seeded bug of :data:`BUGS` says. It hides ``/_mock/`` (404), so the suite sees no controls. For the
webhook bugs it points a run's ``webhook`` at itself (``/_hooks/<token>``) and forwards the
deliveries it receives, mutated, to the run's own URL. What a bug needs to remember (a task's
reads, its owner, whether the proxy answered its cancel) is kept per task.

    with serving(SeededProxy(upstream, {"status_backwards"}, keys)) as url: ...
"""

from __future__ import annotations

import asyncio
import copy
import secrets
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from infsh_harness.spec import load_spec
from tests.servers.bugs import BUGS, CANCELLED, TERMINAL, task_body
from tests.servers.exchange import NO_JSON, Answer, Exchange, TaskState

__all__ = ["BUGS", "SeededProxy"]

SPEC = load_spec()
_HOP = frozenset({"host", "content-length", "connection", "transfer-encoding", "accept-encoding", "keep-alive"})


# --- the proxy --------------------------------------------------------------------------------------
def _route(method: str, path: str) -> tuple[str | None, str | None]:
    if path == "/run":
        return ("run", None) if method == "POST" else (None, None)
    if path.startswith("/tasks/"):
        rest = path[len("/tasks/") :]
        if rest.endswith("/cancel") and "/" not in rest[: -len("/cancel")] and method == "POST":
            return "cancel", rest[: -len("/cancel")]
        if rest and "/" not in rest and method == "GET":
            return "get", rest
    return None, None


@dataclass
class SeededProxy:
    """``upstream`` behind, ``bugs`` (names of :data:`BUGS`) in front; ``keys`` are the upstream's keys."""

    upstream: str
    bugs: Iterable[str]
    keys: Sequence[str]
    public_url: str = ""  # set once it listens, for the webhook URLs it hands out
    tasks: dict[str, TaskState] = field(default_factory=dict)
    latest: dict[str, str] = field(default_factory=dict)  # key -> its latest task
    hooks: dict[str, str] = field(default_factory=dict)  # token -> the run's own webhook URL
    hook_tasks: dict[str, str] = field(default_factory=dict)  # token -> its task, once the run answered
    hook_versions: dict[str, str] = field(default_factory=dict)  # a run's own webhook URL -> its X-API-Version
    delivering: str = ""  # the run's own webhook URL of the delivery being passed on
    notes: dict[str, Any] = field(default_factory=dict)  # what a bug remembers of anything else (sessions)
    _client: httpx.AsyncClient | None = None
    _background: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.bugs) - set(BUGS))
        if unknown:
            raise ValueError(f"unknown seeded bugs: {', '.join(unknown)}")
        self.active = [BUGS[name] for name in self.bugs]

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(base_url=self.upstream, timeout=120, trust_env=False)
        return self._client

    def spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- ASGI -----------------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            if self._client is not None:
                await self._client.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = dict(httpx.QueryParams(scope["query_string"].decode("latin-1")))
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        exchange = Exchange(scope["method"], scope["path"], query, headers, body, raw_path=raw_path)
        answer = await self.handle(exchange)
        out = [(k.encode(), v.encode()) for k, v in answer.headers.items() if k not in _HOP]
        out.append((b"content-length", str(len(answer.body)).encode()))
        await send({"type": "http.response.start", "status": answer.status, "headers": out})
        await send({"type": "http.response.body", "body": answer.body})

    async def handle(self, ex: Exchange) -> Answer:
        if ex.path.startswith("/_mock/"):  # a foreign server has no controls
            return Answer.json(404, {"error": f"no such endpoint: {ex.path}", "code": "not_found"})
        if ex.path.startswith("/_hooks/") and ex.method == "POST":
            return await self.deliver(ex.path[len("/_hooks/") :], ex.body)
        ex.route, ex.task_id = _route(ex.method, ex.path)
        if ex.headers.get("content-type", "").startswith("application/json"):
            try:
                ex.data = orjson.loads(ex.body)
            except orjson.JSONDecodeError:
                ex.data = NO_JSON
        if ex.route in ("get", "cancel") and ex.task_id in self.tasks:
            self.tasks[ex.task_id].gets += ex.route == "get"
        for bug in self.active:
            if bug.before is not None and (early := await bug.before(self, ex)) is not None:
                return early
        token = self._point_webhook_here(ex)
        answer = await self.forward(ex)
        self._learn(ex, answer, token)
        for bug in self.active:
            if bug.after is not None:
                await bug.after(self, ex, answer)
        return answer

    async def forward(self, ex: Exchange) -> Answer:
        headers = {k: v for k, v in ex.headers.items() if k not in _HOP}
        path = ex.raw_path or ex.path
        response = await self.client.request(ex.method, path, params=ex.query, headers=headers, content=ex.body)
        kept = {k.lower(): v for k, v in response.headers.items() if k.lower() not in _HOP | {"content-encoding"}}
        return Answer(response.status_code, kept, response.content)

    # --- what the proxy keeps -------------------------------------------------------------------
    def _point_webhook_here(self, ex: Exchange) -> str | None:
        """A run's valid webhook URL is swapped for one of the proxy's (an invalid one is left to be refused)."""
        if ex.route != "run" or not isinstance(ex.data, dict) or not isinstance(ex.data.get("webhook"), str):
            return None
        if SPEC.validate("RunRequest", {"app": "a", "input": {}, "webhook": ex.data["webhook"]}):
            return None
        token = secrets.token_hex(8)
        self.hooks[token] = ex.data["webhook"]
        self.hook_versions[ex.data["webhook"]] = ex.headers.get("x-api-version", "1").strip()
        ex.set_json({**ex.data, "webhook": f"{self.public_url}/_hooks/{token}"})
        return token

    def _learn(self, ex: Exchange, answer: Answer, token: str | None) -> None:
        body = task_body(answer)
        if body is None or not isinstance(body.get("id"), str):
            return
        state = self.tasks.setdefault(body["id"], TaskState(body["id"]))
        if ex.route == "run":
            state.owner = ex.key
            self.latest[ex.key or ""] = body["id"]
            if token is not None:
                state.webhook = self.hooks[token]
                self.hook_tasks[token] = body["id"]
        if ex.route == "cancel" and state.terminal is None and body["status"] == CANCELLED:
            state.cancelled_by_request = True
        if body["status"] in TERMINAL and state.terminal is None:
            state.terminal = body["status"]

    # --- webhooks -------------------------------------------------------------------------------
    async def deliver(self, token: str, body: bytes) -> Answer:
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return Answer.json(400, {"error": "not JSON", "code": "invalid_json"})
        url = self.hooks.get(token)
        task_id = self.hook_tasks.get(token) or (payload.get("id") if isinstance(payload, dict) else None)
        state = self.tasks.get(str(task_id))  # a waited run's webhook may come before its answer
        if url is None or (state is not None and state.early):
            return Answer.json(200, {"received": True})
        payloads = [payload] if isinstance(payload, dict) else []
        self.delivering = url
        for bug in self.active:
            if bug.hook is not None:
                payloads = bug.hook(self, [copy.deepcopy(p) for p in payloads])
        for one in payloads:
            await self.post_webhook(url, one)
        return Answer.json(200, {"received": True})

    async def post_webhook(self, url: str, payload: dict[str, Any]) -> None:
        try:
            await self.client.post(url, content=orjson.dumps(payload), headers={"content-type": "application/json"})
        except httpx.HTTPError:
            pass  # the receiver is gone: the suite judges what arrived
