// A frontend's journey through taskapi with a client typed by the service's own /openapi.json.
// tests/e2e/test_typescript_client.py generates ./schema.d.ts from a live server, type-checks this
// file (tsc --strict), compiles it and runs it against that server: it exits non-zero on any surprise.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type Task = components["schemas"]["Task"];
type TaskStatus = components["schemas"]["TaskStatus"];
type ErrorCode = components["schemas"]["ErrorCode"];
type TokenPair = components["schemas"]["TokenPair"];

declare const process: { argv: string[] };

// What the generated types must refuse: each line below is a type error, or tsc fails.
// @ts-expect-error a status the service does not know
const notAStatus: TaskStatus = "done";
// @ts-expect-error a code the service never answers
const notACode: ErrorCode = "oops";
// @ts-expect-error token_type is the constant "Bearer"
const notBearer: TokenPair["token_type"] = "bearer";
void [notAStatus, notACode, notBearer];

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`journey: ${what}`);
}

const baseUrl = process.argv[2];
check(baseUrl, "usage: node journey.js <base URL>");
const api = createClient<paths>({ baseUrl });
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function main(): Promise<void> {
  const email = `ts-${Date.now()}@example.com`;
  const password = "correct horse battery";

  // register: `name` has a default, so it may be left out.
  const registered = await api.POST("/api/v1/auth/register", { body: { email, password } });
  check(registered.response.status === 201 && registered.data, "register");
  const bearerType: "Bearer" = registered.data.token_type;
  check(bearerType === "Bearer", "token_type");

  const login = await api.POST("/api/v1/auth/login", { body: { email, password } });
  check(login.data, `login: ${login.response.status}`);
  let pair: TokenPair = login.data;

  const created = await api.POST("/api/v1/tasks", {
    body: { title: "Typed client", priority: "high", tags: ["ts"] },
    headers: bearer(pair.access_token),
  });
  check(created.response.status === 201 && created.data, "create");
  const task: Task = created.data;
  check(task.status === "pending" && task.priority === "high", "created task's fields");

  // The list filter takes an array of the same TaskStatus the task answered with.
  const pending: TaskStatus[] = [task.status];
  const listed = await api.GET("/api/v1/tasks", {
    params: { query: { status: pending, priority: ["high"], sort: "-created_at", limit: 10 } },
    headers: bearer(pair.access_token),
  });
  check(listed.data, "list");
  check(listed.data.items.some((item) => item.id === task.id), "the list holds the new task");

  const toggled = await api.PATCH("/api/v1/tasks/{task_id}/toggle", {
    params: { path: { task_id: task.id } },
    headers: bearer(pair.access_token),
  });
  check(toggled.data && toggled.data.status === "completed", "toggle");
  const etag = toggled.response.headers.get("ETag");
  check(etag, "the toggle's ETag");

  // A status read from an answer is sent back as it is: one generated type for both.
  const statusReadBack: TaskStatus = pending[0];
  const patched = await api.PATCH("/api/v1/tasks/{task_id}", {
    params: { path: { task_id: task.id }, header: { "If-Match": etag } },
    body: { status: statusReadBack },
    headers: bearer(pair.access_token),
  });
  check(patched.data && patched.data.status === statusReadBack, "patch the status read back");

  // Refresh with the refresh token (its own security scheme), then the old one is spent.
  const oldRefresh = pair.refresh_token;
  const refreshed = await api.POST("/api/v1/auth/refresh", { headers: bearer(oldRefresh) });
  check(refreshed.data && refreshed.data.refresh_token !== oldRefresh, "refresh");
  pair = refreshed.data;
  const me = await api.GET("/api/v1/auth/me", { headers: bearer(pair.access_token) });
  check(me.data && me.data.email === email && me.data.role === "user", "me with the refreshed access token");

  // Errors: switch on error.code, typed as ErrorCode.
  const missing = await api.GET("/api/v1/tasks/{task_id}", {
    params: { path: { task_id: 2147483647 } },
    headers: bearer(pair.access_token),
  });
  check(missing.error, "a missing task is an error");
  const notFound: ErrorCode = missing.error.code;
  check(notFound === "not_found" && missing.response.status === 404, `not_found: ${notFound}`);

  const wrongPassword = await api.POST("/api/v1/auth/login", { body: { email, password: "not the password" } });
  check(wrongPassword.error?.code === "invalid_credentials", "wrong password");
  check(!wrongPassword.response.headers.has("WWW-Authenticate"), "a wrong password is no bearer challenge");

  const anonymous = await api.GET("/api/v1/tasks", {});
  check(anonymous.error?.code === "token_missing", "no token");
  check(anonymous.response.headers.get("WWW-Authenticate") === 'Bearer realm="taskapi"', "token_missing challenge");

  const invalid = await api.POST("/api/v1/tasks", { body: { title: "" }, headers: bearer(pair.access_token) });
  check(invalid.error?.code === "validation_error", "validation error");
  const titleMessages: string[] | undefined = invalid.error.errors?.json?.title;
  check(titleMessages && titleMessages.length > 0, "errors.json.title");

  // The spent refresh token: a replay, which ends the session.
  const replay = await api.POST("/api/v1/auth/refresh", { headers: bearer(oldRefresh) });
  check(replay.error?.code === "token_revoked", `replayed refresh: ${replay.error?.code}`);
  check(replay.response.headers.get("WWW-Authenticate") === 'Bearer realm="taskapi", error="invalid_token"',
    "token_revoked challenge");

  console.log(`journey ok: task ${task.id}, ${listed.data.total} listed, status ${statusReadBack}`);
}

main().catch((error: unknown) => {
  console.error(error);
  throw error;
});
