'use strict';
// Cronium's runtime helpers for Node.js scripts: read the run's input, set its output and
// condition, read and write your variables, and see which event and run this is. Every
// function returns a Promise. Inside a Cronium run `require('cronium')` works with no setup;
// elsewhere install this directory and set CRONIUM_RUNTIME_URL and CRONIUM_RUNTIME_TOKEN.
// Node's standard library only.

const http = require('http');
const https = require('https');

/** Milliseconds a call may take, retries included (CRONIUM_RUNTIME_TIMEOUT, default 30 s). */
const timeoutMs = () => (Number(process.env.CRONIUM_RUNTIME_TIMEOUT) || 30) * 1000;
const TRANSIENT_STATUSES = new Set([429, 502, 503, 504]);
const ATTEMPTS = 6;

/** A helper call failed: `status` is the HTTP status (undefined when the server was not
 * reached), `code` Cronium's error code, and the message is the server's own sentence. */
class CroniumError extends Error {
  constructor(message, status, code) {
    super(message);
    this.name = 'CroniumError';
    this.status = status;
    this.code = code;
  }
}

// Kept-alive sockets: Node unrefs an idle one, so it does not hold the script open at its end.
const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

function target() {
  const url = process.env.CRONIUM_RUNTIME_URL;
  const token = process.env.CRONIUM_RUNTIME_TOKEN;
  if (!url || !token) {
    throw new CroniumError('CRONIUM_RUNTIME_URL and CRONIUM_RUNTIME_TOKEN are not set: ' +
      'the helpers work inside a Cronium run (or with both set by hand)');
  }
  if (url.startsWith('unix:')) {
    return { module: http, options: { socketPath: url.slice(5), agent: agents.http }, prefix: '', url, token };
  }
  let parsed;
  try { parsed = new URL(url); } catch { parsed = null; }
  if (!parsed || !['http:', 'https:'].includes(parsed.protocol)) {
    throw new CroniumError(`CRONIUM_RUNTIME_URL must start with unix:, http:// or https://, not ${JSON.stringify(url)}`);
  }
  const module = parsed.protocol === 'https:' ? https : http;
  return {
    module, options: { hostname: parsed.hostname, port: parsed.port, agent: agents[parsed.protocol.slice(0, -1)] },
    prefix: parsed.pathname.replace(/\/$/, ''), url, token,
  };
}

function once(where, method, path, data) {
  return new Promise((resolve, reject) => {
    const headers = { Authorization: `Bearer ${where.token}`, Accept: 'application/json' };
    if (data !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(data);
    }
    const request = where.module.request({ ...where.options, method, path: where.prefix + path, headers, timeout: timeoutMs() }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks).toString() }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs() / 1000}s`)));
    request.on('error', reject);
    request.end(data);
  });
}

function problem(status, body) {
  try {
    const parsed = JSON.parse(body);
    return new CroniumError(parsed.detail || `HTTP ${status}`, status, parsed.code);
  } catch {
    return new CroniumError(`HTTP ${status}: ${body.slice(0, 200)}`, status);
  }
}

async function call(method, path, body) {
  const where = target();
  const data = body === undefined ? undefined : JSON.stringify(body);
  const deadline = Date.now() + timeoutMs();
  let delay = 100;
  for (let attempt = 1; ; attempt++) {
    let error;
    let retryAfter;
    try {
      const response = await once(where, method, path, data);
      if (response.status < 300) return response.body ? JSON.parse(response.body) : null;
      error = problem(response.status, response.body);
      if (!TRANSIENT_STATUSES.has(response.status)) throw error;
      retryAfter = Number(response.headers['retry-after']);
    } catch (thrown) {
      if (thrown instanceof CroniumError) {
        if (!TRANSIENT_STATUSES.has(thrown.status)) throw thrown;
        error = thrown;
      } else {
        error = new CroniumError(`cannot reach Cronium's runtime API at ${where.url}: ${thrown.message}`);
      }
    }
    const wait = Number.isFinite(retryAfter) && retryAfter * 1000 > delay ? retryAfter * 1000 : delay;
    if (attempt === ATTEMPTS || Date.now() + wait > deadline) throw error;
    await new Promise((resolve) => setTimeout(resolve, wait));
    delay = Math.min(delay * 2, 2000);
  }
}

function keyPath(key) {
  if (typeof key !== 'string' || key === '') throw new CroniumError('a variable key must be a non-empty string');
  return `/runtime/v1/variables/${encodeURIComponent(key)}`;
}

/** The input this run was started with (any JSON value), or null. */
const input = () => call('GET', '/runtime/v1/input');

/** Sets this run's output: any JSON value; what runs next receives it as its input. */
const output = async (value) => { await call('POST', '/runtime/v1/output', value === undefined ? null : value); };

/** The value of your variable `key` (a string), or `fallback` (default null) when there is none. */
async function getVariable(key, fallback = null) {
  try {
    return (await call('GET', keyPath(key))).value;
  } catch (error) {
    if (error instanceof CroniumError && error.status === 404) return fallback;
    throw error;
  }
}

/** Sets your variable `key`. A value that is not a string is stored as its JSON text. */
const setVariable = async (key, value) => {
  await call('PUT', keyPath(key), { value: typeof value === 'string' ? value : JSON.stringify(value) });
};

/** Removes your variable `key` (nothing happens when there is none). */
const deleteVariable = async (key) => { await call('DELETE', keyPath(key)); };

/** Decides this run's condition: its ON_CONDITION actions fire when it is true. */
async function setCondition(condition) {
  if (typeof condition !== 'boolean') throw new CroniumError(`setCondition takes true or false, not ${JSON.stringify(condition)}`);
  await call('POST', '/runtime/v1/condition', { condition });
}

/** This run and its event: eventId, eventName, eventType, executionId, attempt, trigger,
 * scheduledFor (and workflow ids when it runs in a workflow). */
const event = () => call('GET', '/runtime/v1/context');

/** Sends `message` (and a `subject`, a card's title) through your tool named `tool`; resolves
 * to what the far end answered, rejects with a CroniumError when it did not take it. */
const sendMessage = (tool, message, subject = null) => call('POST', '/runtime/v1/messages', { tool, subject, message });

function byType(type) {
  return (text, { title = null, tool = undefined } = {}) => call('POST', '/runtime/v1/messages', { type, tool, subject: title, message: text });
}

/** `sendSlackMessage(text, {title, tool})`: through your Slack tool (`tool` names it when you have several). */
const sendSlackMessage = byType('SLACK');
/** `sendDiscordMessage(content, {title, tool})`. */
const sendDiscordMessage = byType('DISCORD');
/** `sendTeamsMessage(text, {title, tool})`. */
const sendTeamsMessage = byType('TEAMS');

/**
 * `sendEmail(to, subject, body, {html, tool})`: emails `body` (with an `html` alternative) to `to`,
 * an address or an array of them, through your email tool (`tool` names it when you have several).
 */
const sendEmail = (to, subject, body, { html = undefined, tool = undefined } = {}) =>
  call('POST', '/runtime/v1/messages', { type: 'EMAIL', tool, to: Array.isArray(to) ? to : [to], subject, message: body, html });

/** The predecessor's form: `action` 'send' with params {message (or text, content, body), subject (or title), and for email to and html}. */
const executeToolAction = (tool, action, params = {}) => call('POST', '/runtime/v1/messages', { tool, action, params });

module.exports = {
  CroniumError, input, output, getVariable, setVariable, deleteVariable, setCondition, event,
  sendMessage, sendSlackMessage, sendDiscordMessage, sendTeamsMessage, sendEmail, executeToolAction,
};
