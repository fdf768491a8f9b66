// The Herald API as the app uses it: the key from sessionStorage (this tab only), JSON in and
// out, and every refusal an ApiError carrying the problem's detail and fields.

const KEY = 'herald.key';

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set key(v) { if (v) sessionStorage.setItem(KEY, v); else sessionStorage.removeItem(KEY); },
};

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.title = problem.title;
    this.errors = problem.errors || [];
  }
}

export async function api(method, path, body, { key = session.key, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (key) init.headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { detail: `Herald did not answer (${e.message})` });
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!res.ok) {
    if (res.status === 401 && path !== '/v1/workspace') window.dispatchEvent(new Event('herald:unauthorized'));
    throw new ApiError(res.status, data && typeof data === 'object' ? data : { detail: `HTTP ${res.status}` });
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body = {}) => api('POST', path, body);

/// Every item of a list, following `next` (API.md "Lists": never cut silently).
export async function all(path) {
  const items = [];
  let cursor = null;
  for (let i = 0; i < 50; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await get(cursor ? `${path}${sep}limit=500&cursor=${encodeURIComponent(cursor)}` : `${path}${sep}limit=500`);
    items.push(...page.items);
    if (!page.next) return items;
    cursor = page.next;
  }
  return items;
}

/// The workspace's settings and accounts, read once per sign-in and refreshed on change.
export const cache = { workspace: null, accounts: null, members: null };

export async function workspace(fresh = false) {
  if (!cache.workspace || fresh) cache.workspace = await get('/v1/workspace');
  return cache.workspace;
}

export async function accounts(fresh = false) {
  if (!cache.accounts || fresh) cache.accounts = await all('/v1/accounts');
  return cache.accounts;
}

export async function members(fresh = false) {
  if (!cache.members || fresh) {
    try { cache.members = await all('/v1/members'); } catch { cache.members = []; }
  }
  return cache.members;
}

/// PUTs a file to a signed upload URL, reporting progress (fetch has no upload progress).
export function upload(url, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) { onProgress(1); resolve(); }
      else {
        let detail = `the upload was refused (HTTP ${xhr.status})`;
        try { detail = JSON.parse(xhr.responseText).detail || detail; } catch { /* not JSON */ }
        reject(new ApiError(xhr.status, { detail }));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, { detail: 'the upload did not reach the server' }));
    xhr.send(file);
  });
}
