// Sagaflow's web UI: the node's HTTP API (/v1) as pages. Plain ES modules, no build step, no
// dependency. Every value from the API reaches the page as text (textContent), never as markup.

const main = document.getElementById('main');
const TOKEN_KEY = 'sagaflow.apiToken';
const STATUSES = ['RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'FAILED'];
const AGES = {
  '': 'any age',
  '15m': 'created in the last 15 minutes',
  '1h': 'created in the last hour',
  '24h': 'created in the last 24 hours',
  '>1h': 'older than an hour',
  '>24h': 'older than 24 hours',
};
const PAGE_SIZE = 25;

// ---- the API -----------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, problem) {
    super(problem && problem.detail ? problem.detail : `the node answered ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

function authHeaders(headers) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) {
    headers.set('Authorization', 'Bearer ' + token);
  }
  return headers;
}

/** The JSON answer of a /v1 request; a 401 asks for a token and tries once more with it. */
async function api(path, options = {}, askedForToken = false) {
  const headers = authHeaders(new Headers(options.headers || {}));
  headers.set('Accept', 'application/json, application/problem+json');
  const response = await fetch(path, { ...options, headers, cache: 'no-store' });
  if (response.status === 401 && !askedForToken) {
    await askForToken();
    return api(path, options, true);
  }
  const type = response.headers.get('Content-Type') || '';
  const body = type.includes('json') ? await response.json() : null;
  if (!response.ok) {
    throw new ApiError(response.status, body);
  }
  return body;
}

/** A random UUID, also where crypto.randomUUID is not offered (plain http off localhost). */
function uuid() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// ---- the token ---------------------------------------------------------------------------------

let tokenWaiters = [];
let tokenSavedWaiters = [];

/** Resolves when a token is next saved (the dialog's Cancel leaves it waiting). */
function tokenSaved() {
  return new Promise((resolve) => tokenSavedWaiters.push(resolve));
}

function askForToken() {
  const dialog = document.getElementById('token-dialog');
  if (!dialog.open) {
    document.getElementById('token-input').value = '';
    dialog.showModal();
  }
  return new Promise((resolve, reject) => tokenWaiters.push({ resolve, reject }));
}

document.getElementById('token-dialog').addEventListener('close', () => {
  const dialog = document.getElementById('token-dialog');
  const waiters = tokenWaiters;
  tokenWaiters = [];
  if (dialog.returnValue === 'ok') {
    sessionStorage.setItem(TOKEN_KEY, document.getElementById('token-input').value.trim());
    waiters.forEach((w) => w.resolve());
    const saved = tokenSavedWaiters;
    tokenSavedWaiters = [];
    saved.forEach((resolve) => resolve());
    restartStream();
  } else {
    waiters.forEach((w) => w.reject(new Error('an API token is needed')));
  }
});

document.getElementById('token-button').addEventListener('click', () => {
  askForToken().then(route, () => {});
});

// ---- building the page -------------------------------------------------------------------------

/** An element: h('td', {class: 'x'}, 'text', child, ...); strings become text nodes. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (name.startsWith('on')) {
      el.addEventListener(name.slice(2), value);
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null && child !== false) {
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return el;
}

function time(instant) {
  if (!instant) {
    return '';
  }
  const d = new Date(instant);
  return h('time', { datetime: instant, title: instant }, d.toLocaleString());
}

function badge(status) {
  return h('span', { class: `badge ${String(status).toLowerCase()}` }, status);
}

function json(value) {
  return h('pre', { class: 'json' }, JSON.stringify(value, null, 2));
}

function errorBox(error) {
  return h('div', { class: 'error', role: 'alert' }, error.message || String(error));
}

function sagaLink(id) {
  return h('a', { href: `#/sagas/${encodeURIComponent(id)}`, class: 'saga-link' }, id);
}

function render(...children) {
  main.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

function markNav(active) {
  for (const id of ['nav-sagas', 'nav-attention']) {
    document.getElementById(id).classList.toggle('active', id === active);
  }
}

// ---- what is shown now, and refreshing it --------------------------------------------------------

/** The view on the page: {kind, sagaId?, refresh}. Live events refresh it. */
let current = null;
let refreshTimer = null;

function scheduleRefresh(delay) {
  if (refreshTimer || !current) {
    return;
  }
  const view = current;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    if (current === view) {
      view.refresh().catch(() => {});
    }
  }, delay);
}

// ---- the saga list -----------------------------------------------------------------------------

function listQuery(params) {
  const q = new URLSearchParams();
  for (const name of ['type', 'status', 'cursor']) {
    if (params.get(name)) {
      q.set(name, params.get(name));
    }
  }
  const age = params.get('age') || '';
  const now = Date.now();
  const minutes = { '15m': 15, '1h': 60, '24h': 1440, '>1h': 60, '>24h': 1440 }[age];
  if (minutes) {
    const bound = new Date(now - minutes * 60000).toISOString();
    q.set(age.startsWith('>') ? 'createdBefore' : 'createdAfter', bound);
  }
  q.set('limit', String(PAGE_SIZE));
  return q;
}

function sagaTable(items, emptyText) {
  if (!items.length) {
    return h('p', { class: 'empty' }, emptyText);
  }
  return h(
    'table',
    { class: 'sagas' },
    h('thead', {}, h('tr', {}, ['Saga', 'Type', 'Status', 'Created', 'Status changed', 'Reason'].map((t) => h('th', {}, t)))),
    h(
      'tbody',
      {},
      items.map((s) =>
        h(
          'tr',
          { 'data-saga-id': s.id, 'data-status': s.status },
          h('td', {}, sagaLink(s.id)),
          h('td', {}, `${s.type} v${s.version}`),
          h('td', {}, badge(s.status)),
          h('td', {}, time(s.createdAt)),
          h('td', {}, time(s.updatedAt)),
          h('td', { class: 'reason' }, s.failure || ''),
        ),
      ),
    ),
  );
}

async function showList(params) {
  markNav('nav-sagas');
  const view = { kind: 'list' };
  current = view;
  let types = [];
  try {
    types = (await api('/v1/saga-types')).items.map((t) => t.type);
  } catch (e) {
    if (current === view) {
      render(errorBox(e));
    }
    return;
  }

  const select = (name, options) =>
    h(
      'select',
      { name, id: `filter-${name}`, onchange: (ev) => changeFilter(params, name, ev.target.value) },
      Object.entries(options).map(([value, label]) =>
        h('option', { value, selected: (params.get(name) || '') === value }, label),
      ),
    );
  const filters = h(
    'form',
    { class: 'filters', onsubmit: (ev) => ev.preventDefault() },
    h('label', {}, 'Type ', select('type', { '': 'every type', ...Object.fromEntries(types.map((t) => [t, t])) })),
    h('label', {}, 'Status ', select('status', { '': 'every status', ...Object.fromEntries(STATUSES.map((s) => [s, s])) })),
    h('label', {}, 'Age ', select('age', AGES)),
  );
  const body = h('div', { id: 'list-body' });
  render(h('h1', {}, 'Sagas'), filters, body);

  view.refresh = async () => {
    try {
      const page = await api('/v1/sagas?' + listQuery(params));
      if (current !== view) {
        return;
      }
      const pager = h(
        'p',
        { class: 'pager' },
        params.get('cursor') ? h('a', { href: hashWith(params, 'cursor', ''), id: 'first-page' }, '« Newest') : null,
        page.nextCursor ? h('a', { href: hashWith(params, 'cursor', page.nextCursor), id: 'next-page' }, 'Older »') : null,
      );
      body.replaceChildren(sagaTable(page.items, 'No saga matches.'), pager);
    } catch (e) {
      if (current === view) {
        body.replaceChildren(errorBox(e));
      }
    }
  };
  await view.refresh();
}

function hashWith(params, name, value) {
  const next = new URLSearchParams(params);
  if (value) {
    next.set(name, value);
  } else {
    next.delete(name);
  }
  if (name !== 'cursor') {
    next.delete('cursor');
  }
  const q = next.toString();
  return '#/' + (q ? '?' + q : '');
}

function changeFilter(params, name, value) {
  location.hash = hashWith(params, name, value);
}

// ---- needs attention ---------------------------------------------------------------------------

async function showAttention() {
  markNav('nav-attention');
  const view = { kind: 'attention' };
  current = view;
  const failed = h('section', { id: 'attention-failed' });
  const overdue = h('section', { id: 'attention-overdue' });
  const signals = h('section', { id: 'attention-signals' });
  render(
    h('h1', {}, 'Needs attention'),
    h('h2', {}, 'Failed: waiting for an operator'),
    failed,
    h('h2', {}, 'Unfinished past their deadline'),
    overdue,
    h('h2', {}, 'Waiting for a signal (an approval, a callback)'),
    signals,
  );
  view.refresh = async () => {
    const load = async (query, into, empty) => {
      try {
        const page = await api('/v1/sagas?' + query);
        if (current === view) {
          into.replaceChildren(
            sagaTable(page.items, empty),
            ...(page.nextCursor ? [h('p', {}, 'More are listed under Sagas.')] : []),
          );
        }
      } catch (e) {
        if (current === view) {
          into.replaceChildren(errorBox(e));
        }
      }
    };
    await Promise.all([
      load('status=FAILED&limit=50', failed, 'No saga is FAILED.'),
      load('overdue=true&limit=50', overdue, 'No unfinished saga is past its deadline.'),
      load('waitingFor=*&limit=50', signals, 'No saga waits for a signal.'),
    ]);
  };
  await view.refresh();
}

// ---- one saga ----------------------------------------------------------------------------------

/** What an event says, in a line; the event's public name and step are shown beside it. */
function describe(event) {
  const d = event.data || {};
  switch (event.type) {
    case 'SagaStarted':
      return d.deadline ? `deadline ${new Date(d.deadline).toLocaleString()}` : '';
    case 'StepSucceeded':
      return d.nextStep ? `next: ${d.nextStep}` : '';
    case 'StepAttemptFailed':
    case 'CompensationAttemptFailed':
      return `${d.error || ''} (retry at ${new Date(d.retryAt).toLocaleString()})`;
    case 'StepFailed':
    case 'StepFailedAfterPivot':
    case 'BranchFailed':
      return d.reason || d.error || '';
    case 'CompensationStarted':
      return d.reason || '';
    case 'CompensationFailed':
    case 'SagaFailed':
      return d.reason || d.error || '';
    case 'CompensationSkipped':
      return `not undone: ${d.error || ''}`;
    case 'SignalReceived':
      return `signal '${d.signal}'`;
    case 'BranchesStarted':
      return `branches ${(d.branches || []).join(', ')}${d.maxConcurrency ? `, ${d.maxConcurrency} at a time` : ''}`;
    case 'BranchSucceeded':
      return d.nextStep ? `next: ${d.nextStep}` : d.sagaCompleted ? 'saga completed' : '';
    case 'BranchSettled':
      return d.uncertain ? `uncertain: ${d.error || ''}` : `rejected: ${d.error || ''}`;
    case 'StepCompensated':
      return d.unreadable ? `undone (answer unreadable: ${d.unreadable})` : 'undone';
    default:
      return d.error || d.reason || '';
  }
}

function allSteps(steps) {
  return (steps || []).flatMap((s) => [s, ...allSteps(s.branches)]);
}

/** What the saga waits for now, in words; null once it has ended. */
function waitsFor(saga) {
  if (saga.status === 'COMPLETED' || saga.status === 'COMPENSATED') {
    return null;
  }
  if (saga.status === 'FAILED') {
    return 'an operator: Retry resumes it';
  }
  if (saga.waitingFor) {
    const w = saga.waitingFor;
    return `the signal '${w.signal}' (step ${w.step}), since ${new Date(w.since).toLocaleString()}, until ${new Date(w.timeoutAt).toLocaleString()}`;
  }
  const steps = allSteps(saga.steps);
  const retries = steps.filter((s) => s.nextAttemptAt);
  if (retries.length) {
    return retries
      .map((s) => `the retry of ${s.name} at ${new Date(s.nextAttemptAt).toLocaleString()}`)
      .join('; ');
  }
  const out = steps.filter((s) => (s.status === 'RUNNING' || s.status === 'COMPENSATING') && !s.branches);
  return out.length ? out.map((s) => `the answer of ${s.name}`).join(', ') : null;
}

function stepRows(steps, depth = 0) {
  return steps.flatMap((s) => [
    h(
      'tr',
      { 'data-step': s.name, 'data-status': s.status, class: depth ? 'branch' : null },
      h('td', { class: 'step-name' }, (depth ? '↳ ' : '') + s.name),
      h('td', {}, badge(s.status)),
      h('td', { class: 'num' }, s.attempts ?? ''),
      h('td', { class: 'num' }, s.compensationAttempts ?? ''),
      h('td', {}, time(s.startedAt)),
      h('td', {}, time(s.finishedAt)),
      h('td', {}, time(s.nextAttemptAt)),
      h('td', { class: 'reason' }, s.lastError || ''),
      h('td', {}, s.output !== undefined && s.output !== null ? h('details', {}, h('summary', {}, 'output'), json(s.output)) : ''),
    ),
    ...stepRows(s.branches || [], depth + 1),
  ]);
}

function actionsFor(saga, refresh) {
  const buttons = [];
  if (saga.status === 'RUNNING') {
    buttons.push(
      h('button', {
        id: 'action-cancel',
        class: 'danger',
        type: 'button',
        onclick: () =>
          confirmAction({
            title: `Cancel saga ${saga.id}?`,
            text: 'Its steps done so far are compensated, newest first. This cannot be undone.',
            reason: true,
          }).then((answer) =>
            answer &&
            command(`/v1/sagas/${encodeURIComponent(saga.id)}/cancel`, answer.reason ? { reason: answer.reason } : {}, refresh),
          ),
      }, 'Cancel…'),
    );
  }
  if (saga.status === 'FAILED') {
    buttons.push(
      h('button', {
        id: 'action-retry',
        type: 'button',
        onclick: () =>
          confirmAction({
            title: `Retry saga ${saga.id}?`,
            text: 'It resumes where it failed, with a fresh retry budget for that step.',
          }).then((answer) => answer && command(`/v1/sagas/${encodeURIComponent(saga.id)}/retry`, null, refresh)),
      }, 'Retry…'),
    );
  }
  if (saga.waitingFor) {
    const name = saga.waitingFor.signal;
    buttons.push(
      h('button', {
        id: 'action-signal',
        type: 'button',
        onclick: () =>
          confirmAction({
            title: `Send the signal '${name}' to saga ${saga.id}?`,
            text: `Its step ${saga.waitingFor.step} takes the payload as its output (or is rejected, if the saga's rule says so).`,
            payload: true,
          }).then((answer) =>
            answer &&
            command(`/v1/sagas/${encodeURIComponent(saga.id)}/signals/${encodeURIComponent(name)}`, answer.payload, refresh),
          ),
      }, `Signal ${name}…`),
    );
  }
  return buttons.length ? h('div', { class: 'actions' }, buttons) : null;
}

async function command(path, body, refresh) {
  const out = document.getElementById('action-result');
  try {
    await api(path, {
      method: 'POST',
      headers: { 'Idempotency-Key': uuid(), ...(body != null ? { 'Content-Type': 'application/json' } : {}) },
      body: body != null ? JSON.stringify(body) : undefined,
    });
    if (out) {
      out.replaceChildren(h('div', { class: 'ok' }, 'Done.'));
    }
  } catch (e) {
    if (out) {
      out.replaceChildren(errorBox(e));
    }
  }
  await refresh();
}

function confirmAction({ title, text, reason, payload }) {
  const dialog = document.getElementById('confirm-dialog');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  const fields = document.getElementById('confirm-fields');
  const input = h('input', { id: 'confirm-reason', type: 'text', maxlength: 500, placeholder: 'why (kept in the saga’s history)' });
  const json = h('textarea', { id: 'confirm-payload', rows: 5, spellcheck: 'false' }, '{}');
  const problem = h('p', { class: 'field-problem', id: 'confirm-problem' });
  fields.replaceChildren(
    ...(reason ? [h('label', {}, 'Reason ', input)] : []),
    ...(payload ? [h('label', {}, 'Payload (JSON) ', json), problem] : []),
  );
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    const onClose = () => {
      if (dialog.returnValue !== 'ok') {
        resolve(null);
        return;
      }
      let body = null;
      if (payload) {
        try {
          body = json.value.trim() === '' ? null : JSON.parse(json.value);
        } catch (e) {
          // Not JSON: say so, and keep the dialog open for a fix.
          problem.textContent = `not JSON: ${e.message}`;
          dialog.returnValue = '';
          dialog.showModal();
          dialog.addEventListener('close', onClose, { once: true });
          return;
        }
      }
      resolve({ reason: reason ? input.value.trim() : null, payload: body });
    };
    dialog.addEventListener('close', onClose, { once: true });
  });
}

async function showSaga(id) {
  markNav(null);
  const view = { kind: 'saga', sagaId: id };
  current = view;
  const path = `/v1/sagas/${encodeURIComponent(id)}`;
  view.refresh = async () => {
    let saga;
    let history;
    try {
      [saga, history] = await Promise.all([api(path), api(path + '/events')]);
    } catch (e) {
      if (current === view) {
        render(h('h1', {}, id), errorBox(e));
      }
      return;
    }
    if (current !== view) {
      return;
    }
    const events = history.events || [];
    const facts = h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Type'), h('dd', {}, `${saga.type} v${saga.version}`),
      h('dt', {}, 'Created'), h('dd', {}, time(saga.createdAt)),
      h('dt', {}, 'Status changed'), h('dd', {}, time(saga.updatedAt)),
      saga.deadline ? [h('dt', {}, 'Deadline'), h('dd', {}, time(saga.deadline))] : null,
      waitsFor(saga) ? [h('dt', {}, 'Waits for'), h('dd', { id: 'waits-for' }, waitsFor(saga))] : null,
    );
    const timeline = h(
      'ol',
      { class: 'timeline', id: 'timeline' },
      events.map((e) =>
        h(
          'li',
          { 'data-type': e.type, 'data-step': e.data && e.data.step ? e.data.step : null, class: e.type.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase() },
          time(e.writtenAt),
          ' ',
          h('span', { class: 'event-type' }, e.type),
          e.data && e.data.step ? h('span', { class: 'event-step' }, e.data.step) : null,
          e.data && e.data.attempt ? h('span', { class: 'event-attempt' }, `attempt ${e.data.attempt}`) : null,
          h('span', { class: 'event-text' }, describe(e)),
        ),
      ),
    );
    render(
      h('p', { class: 'crumbs' }, h('a', { href: '#/' }, '« Sagas')),
      h('h1', {}, h('span', { id: 'saga-id' }, saga.id), ' ', h('span', { id: 'saga-status' }, badge(saga.status))),
      saga.failure ? h('div', { class: 'failure', id: 'saga-failure' }, saga.failure) : null,
      actionsFor(saga, view.refresh),
      h('div', { id: 'action-result' }),
      facts,
      h('h2', {}, 'Steps'),
      h(
        'table',
        { class: 'steps', id: 'steps' },
        h('thead', {}, h('tr', {}, ['Step', 'Status', 'Attempts', 'Undo attempts', 'Started', 'Finished', 'Next attempt', 'Last error', ''].map((t) => h('th', {}, t)))),
        h('tbody', {}, stepRows(saga.steps || [])),
      ),
      h('h2', {}, 'Timeline'),
      timeline,
      h('h2', {}, 'Input'),
      json(saga.input),
      h('details', { id: 'raw-events' }, h('summary', {}, `Raw events (${events.length})`), json(events)),
    );
    document.title = `${saga.id} · Sagaflow`;
  };
  await view.refresh();
}

// ---- routing -----------------------------------------------------------------------------------

function route() {
  const hash = location.hash.slice(1) || '/';
  const [path, query] = hash.split('?');
  const params = new URLSearchParams(query || '');
  document.title = 'Sagaflow';
  if (path.startsWith('/sagas/')) {
    return showSaga(decodeURIComponent(path.slice('/sagas/'.length)));
  }
  if (path === '/attention') {
    return showAttention();
  }
  return showList(params);
}

window.addEventListener('hashchange', () => route());

// ---- live updates: GET /v1/events, read with fetch so that it carries the token -----------------

let lastEventId = null;
let stream = null;

function setLive(state, text) {
  const live = document.getElementById('live');
  live.textContent = text;
  live.className = `live ${state}`;
  document.body.dataset.live = state;
}

function restartStream() {
  if (stream) {
    stream.abort();
  }
}

function onLifecycleEvent(event) {
  if (!current) {
    return;
  }
  if (current.kind === 'saga') {
    if (event.sagaId === current.sagaId) {
      scheduleRefresh(100);
    }
  } else {
    scheduleRefresh(1000);
  }
}

function handleBlock(block) {
  let id = null;
  let type = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) {
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) {
      value = value.slice(1);
    }
    if (field === 'id') {
      id = value;
    } else if (field === 'event') {
      type = value;
    } else if (field === 'data') {
      data.push(value);
    }
  }
  if (id !== null && id !== '') {
    lastEventId = id;
  }
  if (!data.length || type === 'disconnected') {
    return; // a heartbeat, or the node ending the stream (it says why; we reconnect)
  }
  try {
    onLifecycleEvent(JSON.parse(data.join('\n')));
  } catch (e) {
    // Not an event of ours: nothing to refresh.
  }
}

async function readStream() {
  const headers = authHeaders(new Headers({ Accept: 'text/event-stream' }));
  if (lastEventId) {
    headers.set('Last-Event-ID', lastEventId);
  }
  stream = new AbortController();
  const response = await fetch('/v1/events', { headers, cache: 'no-store', signal: stream.signal });
  if (response.status === 401) {
    setLive('off', 'live updates need a token');
    await tokenSaved();
    return;
  }
  if (!response.ok) {
    throw new Error(`the event stream answered ${response.status}`);
  }
  setLive('on', '● live');
  if (current) {
    // Whatever happened while the stream was down.
    scheduleRefresh(0);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      return;
    }
    buffer += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      handleBlock(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
    }
  }
}

async function keepStreaming() {
  let delay = 500;
  for (;;) {
    const began = Date.now();
    try {
      await readStream();
    } catch (e) {
      // Dropped, refused or aborted: reconnect after a pause, resuming after the last event seen.
    }
    setLive('off', 'reconnecting…');
    delay = Date.now() - began > 10000 ? 500 : Math.min(delay * 2, 10000);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

route();
keepStreaming();
