// The console's requests to its server: the session, and operations called exactly as the API answers them.

let session = null;
let signedOut = () => {};

export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

// Called when the server says the session has ended or is not signed in.
export function onSignedOut(callback) {
  signedOut = callback;
}

export function current() {
  return session;
}

async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers["X-CSRF-Token"] = session ? session.csrfToken : "";
  }
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
  let document = null;
  try {
    document = await response.json();
  } catch {
    document = null;
  }
  if (!response.ok) {
    const code = (document && (document.__type || (document.error && "Error"))) || `HTTP ${response.status}`;
    const message = (document && (document.message || document.error)) || response.statusText;
    if (code === "SessionExpired" || code === "NotSignedIn") signedOut(code);
    throw new ApiError(code, message, response.status);
  }
  return document;
}

export async function loadSession() {
  session = await request("GET", "api/session");
  return session;
}

export async function signIn(accessKeyId, secretAccessKey) {
  session = await request("POST", "api/signin", { accessKeyId, secretAccessKey });
  return session;
}

export async function signOut() {
  session = await request("POST", "api/signout", {});
  return session;
}

export async function scopes() {
  return (await request("GET", "api/scopes")).scopes;
}

// Runs several operations in one scope; each answer is {body} or {error: ApiError}, in order.
export async function calls(scope, list) {
  if (!list.length) return [];
  const document = await request("POST", "api/call", {
    account: scope.account,
    region: scope.region,
    calls: list.map(([operation, input]) => ({ operation, input: input || {} })),
  });
  return document.results.map(({ status, body }) =>
    status === 200 ? { body } : { error: new ApiError(body.__type, body.message || body.Message || "", status) },
  );
}

// Runs one operation; resolves to its answer, or rejects with AWS's error code and message.
export async function call(scope, operation, input) {
  const [answer] = await calls(scope, [[operation, input]]);
  if (answer.error) throw answer.error;
  return answer.body;
}

export async function versionCounts(scope, names) {
  if (!names.length) return {};
  const document = await request("POST", "api/version-counts", {
    account: scope.account,
    region: scope.region,
    names,
  });
  return document.counts;
}

// The test controls (servers started with --enable-admin): GET time, POST time/advance, GET state, ...
export async function control(method, path, body) {
  return request(method, `api/controls/${path}`, body);
}
