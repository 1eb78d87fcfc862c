'use strict';
// The Node.js helpers against the real runtime API: run inside a Cronium run by
// scripts/test-helpers.sh (input {"case": "helpers"}, a low runtime rate limit).
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const cronium = require('../cronium');

test('it is the file under test', () => {
  assert.equal(require.resolve('../cronium'), path.join(__dirname, '..', 'cronium', 'index.js'));
});

test('input and context', async () => {
  assert.deepEqual(await cronium.input(), { case: 'helpers' });
  const context = await cronium.event();
  assert.equal(context.eventName, 'node helper tests');
  assert.equal(context.executionId, Number(process.env.CRONIUM_EXECUTION_ID));
  assert.equal(context.attempt, 1);
});

test('output and condition', async () => {
  await cronium.output({ language: 'node', ok: true });
  await cronium.setCondition(false);
  await assert.rejects(cronium.setCondition('yes'), { name: 'CroniumError', message: /true or false/ });
});

test('variables round trip', async () => {
  await cronium.setVariable('NODE_HELPER_TEXT', 'héllo ✓');
  assert.equal(await cronium.getVariable('NODE_HELPER_TEXT'), 'héllo ✓');
  await cronium.setVariable('NODE_HELPER_JSON', [1, { b: null }]);
  assert.equal(await cronium.getVariable('NODE_HELPER_JSON'), '[1,{"b":null}]');
  await cronium.deleteVariable('NODE_HELPER_TEXT');
  assert.equal(await cronium.getVariable('NODE_HELPER_TEXT'), null);
  assert.equal(await cronium.getVariable('NODE_HELPER_TEXT', 'fallback'), 'fallback');
  assert.equal(await cronium.getVariable('HELPER_TEST_SECRET'), 's3cret-for-helper-tests');
});

test('a refused call carries the server\'s message', async () => {
  await assert.rejects(cronium.setVariable('lower case', 'x'), (error) => {
    assert.equal(error.status, 422);
    assert.match(error.message, /is not a key/);
    return true;
  });
});

test('a wrong token is refused', async (t) => {
  const saved = process.env.CRONIUM_RUNTIME_TOKEN;
  t.after(() => { process.env.CRONIUM_RUNTIME_TOKEN = saved; });
  process.env.CRONIUM_RUNTIME_TOKEN = 'not-a-token';
  await assert.rejects(cronium.input(), { status: 401, code: 'UNAUTHORIZED' });
});

test('an unreachable API fails within the timeout', async (t) => {
  const saved = { url: process.env.CRONIUM_RUNTIME_URL, timeout: process.env.CRONIUM_RUNTIME_TIMEOUT };
  t.after(() => {
    process.env.CRONIUM_RUNTIME_URL = saved.url;
    if (saved.timeout === undefined) delete process.env.CRONIUM_RUNTIME_TIMEOUT; else process.env.CRONIUM_RUNTIME_TIMEOUT = saved.timeout;
  });
  process.env.CRONIUM_RUNTIME_URL = 'unix:/tmp/no-such-cronium.sock';
  process.env.CRONIUM_RUNTIME_TIMEOUT = '1';
  const started = Date.now();
  await assert.rejects(cronium.event(), { message: /cannot reach Cronium's runtime API/ });
  assert.ok(Date.now() - started < 3000);
});

test('calls over the rate limit wait and go on', async () => {
  const started = Date.now();
  for (let number = 0; number < 80; number++) await cronium.setVariable('NODE_HELPER_COUNT', String(number));
  assert.equal(await cronium.getVariable('NODE_HELPER_COUNT'), '79');
  assert.ok(Date.now() - started >= 1000);
});
