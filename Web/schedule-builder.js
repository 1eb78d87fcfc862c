// The schedule builder of the event and workflow editors: kind, cron expression or interval, start,
// time zone and policies; and, as they are typed, the next five fire times in the schedule's time
// zone and the coming year's changes of the clocks that touch it, asked of the server
// (`POST /api/v1/schedules/preview`), so problems show before saving.
import { post } from './api.js';
import { fill, h } from './dom.js';

const policies = [
  ['dstGap', 'When the clocks skip its time', ['shift', 'skip']],
  ['dstOverlap', 'When the clocks repeat its time', ['once', 'twice']],
  ['misfire', 'Occurrences missed while Cronium was down', ['last', 'all', 'none']],
  ['overlap', 'An occurrence while a run is going', ['skip', 'queue', 'replace', 'allow']],
];

/** `schedule`: the stored one, or null. `withOverlap`: false for workflows, whose overlap policy
 *  is the workflow's own field. */
export function scheduleBuilder(schedule, { withOverlap = true } = {}) {
  const s = schedule ?? {};
  const controls = {};
  const row = (name, label, control, hint) => h('div', { 'data-field': `schedule.${name}` },
    h('label', { for: `sch-${name}` }, label), control, hint ? h('div', { class: 'muted' }, hint) : null,
    h('div', { class: 'field-error', id: `e-schedule.${name}` }));
  const input = (name, attributes) => (controls[name] = h('input', { id: `sch-${name}`, ...attributes }));
  const choose = (name, values, value) => (controls[name] = h('select', { id: `sch-${name}` }, values.map((v) => h('option', { value: v, selected: v === value }, v))));
  const preview = h('div', { class: 'preview', id: 'schedule-preview', 'aria-live': 'polite' });
  const element = h('fieldset', { id: 'schedule-fields' },
    h('legend', {}, 'Schedule'),
    h('div', { class: 'row' },
      row('kind', 'Kind', choose('kind', ['cron', 'interval', 'once'], s.kind ?? 'cron')),
      row('timeZone', 'Time zone', input('timeZone', { value: s.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone, list: 'time-zones' }))),
    row('cron', 'Cron expression', input('cron', { value: s.cron ?? '0 * * * *', spellcheck: false }),
      'minute hour day-of-month month day-of-week (a sixth field first for seconds), e.g. 30 2 * * MON-FRI'),
    row('intervalSeconds', 'Every (seconds)', input('intervalSeconds', { type: 'number', min: 1, value: s.intervalSeconds ?? 3600 })),
    row('startAt', 'At (once), or not before (others); in your browser’s time', input('startAt', { type: 'datetime-local', step: 1, value: s.startAt ? localInput(s.startAt) : '' })),
    h('div', { class: 'row' }, policies.filter(([name]) => withOverlap || name !== 'overlap').map(([name, label, values]) => row(name, label, choose(name, values, s[name] ?? values[0])))),
    h('datalist', { id: 'time-zones' }, (Intl.supportedValuesOf?.('timeZone') ?? []).map((zone) => h('option', { value: zone }))),
    preview);

  const showKind = () => {
    const kind = controls.kind.value;
    element.querySelector('[data-field="schedule.cron"]').hidden = kind !== 'cron';
    element.querySelector('[data-field="schedule.intervalSeconds"]').hidden = kind !== 'interval';
    for (const name of ['dstGap', 'dstOverlap']) element.querySelector(`[data-field="schedule.${name}"]`).hidden = kind !== 'cron';
  };

  /** The schedule as the API takes it, from what is typed. */
  const value = () => {
    const kind = controls.kind.value;
    const result = { kind, timeZone: controls.timeZone.value.trim() };
    if (kind === 'cron') Object.assign(result, { cron: controls.cron.value.trim(), dstGap: controls.dstGap.value, dstOverlap: controls.dstOverlap.value });
    if (kind === 'interval') result.intervalSeconds = Number(controls.intervalSeconds.value);
    if (controls.startAt.value) result.startAt = new Date(controls.startAt.value).toISOString();
    result.misfire = controls.misfire.value;
    if (withOverlap) result.overlap = controls.overlap.value;
    return result;
  };

  let timer = null;
  let asked = 0;
  const refresh = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const ask = ++asked;
      const schedule = value();
      for (const slot of element.querySelectorAll('.field-error')) slot.textContent = '';
      try {
        const answer = await post('/api/v1/schedules/preview?count=5', schedule);
        if (ask !== asked) return;
        const format = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'long', timeZone: answer.timeZone });
        fill(preview,
          h('strong', {}, `Next fires (${answer.timeZone}):`),
          answer.times.length ? h('ol', { id: 'next-fires' }, answer.times.map((t) => h('li', {}, h('time', { datetime: t }, format.format(new Date(t))))))
            : h('p', { class: 'muted' }, 'It does not fire again.'),
          answer.dst.map((notice) => h('div', { class: 'notice warn dst-notice', role: 'note' }, notice.message)));
      } catch (error) {
        if (ask !== asked) return;
        showProblems(error.fields ?? []);
        fill(preview, h('p', { class: 'field-error' }, error.fields?.length ? 'Fix the schedule to see when it fires.' : error.message));
      }
    }, 250);
  };

  /** Puts problems named `schedule.…` beside their fields. */
  const showProblems = (problems) => {
    for (const problem of problems) {
      const slot = element.querySelector(`[id="e-${problem.field}"]`);
      if (slot) slot.textContent = problem.message;
    }
  };

  controls.kind.addEventListener('change', showKind);
  element.addEventListener('input', refresh);
  element.addEventListener('change', refresh);
  showKind();
  return { element, value, refresh };
}

function localInput(iso) {
  const date = new Date(iso);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
}
