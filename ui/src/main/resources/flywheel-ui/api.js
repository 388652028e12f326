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
export async function api(path, { method = 'GET', json, body, headers = {} } = {}) {
  const h = { ...headers };
  const t = token();
  if (t) h.Authorization = `Bearer ${t}`;
  let payload = body;
  if (json !== undefined) {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(path, { method, headers: h, body: payload });
  } catch (e) {
    throw new ApiError(0, 'network', 'The server cannot be reached. Is it running?');
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  if (!response.ok) {
    const message = data && data.message ? data.message : `${response.status} ${response.statusText}`;
    const error = new ApiError(response.status, data && data.error ? data.error : 'http_error', message);
    if (response.status === 401) window.dispatchEvent(new CustomEvent('flywheel:unauthorized'));
    throw error;
  }
  return data;
}
