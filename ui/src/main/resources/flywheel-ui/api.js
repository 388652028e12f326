// The REST client: the UI uses only the public API, with the token the user signed in with.

const TOKEN_KEY = 'flywheel.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function token() {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

/** Calls the API; resolves to the parsed JSON (or null for 204), rejects with an ApiError. */
export async function api(path, { method = 'GET', json, body, headers = {}, keepalive = false } = {}) {
  const h = { ...headers };
  let payload = body;
  if (json !== undefined) {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(json);
  }
  const response = await send(path, { method, headers: h, body: payload, keepalive });
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  if (!response.ok) throw failure(response, data);
  return data;
}

/** GETs a binary resource (a stored input, an export) with the token; resolves to a Blob with its content type. */
export async function apiBlob(path) {
  const response = await send(path, { headers: {} });
  if (!response.ok) {
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    throw failure(response, data);
  }
  return response.blob();
}

/** Hands a blob to the browser as a download with that file name. */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function send(path, init) {
  const t = token();
  if (t) init.headers.Authorization = `Bearer ${t}`;
  try {
    return await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'network', 'The server cannot be reached. Is it running?');
  }
}

function failure(response, data) {
  const message = data && data.message ? data.message : `${response.status} ${response.statusText}`;
  const error = new ApiError(response.status, data && data.error ? data.error : 'http_error', message);
  if (response.status === 401) window.dispatchEvent(new CustomEvent('flywheel:unauthorized'));
  return error;
}
