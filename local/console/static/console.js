// The console's only script: live regions, dependent form fields, checks as you type.
// Every change it asks for goes through the server, which renders HTML fragments.
'use strict';
(function () {
  const token = document.querySelector('meta[name="console-token"]').content;

  function get(url) {
    return fetch(url, { credentials: 'same-origin', headers: { 'X-Console-Token': token } });
  }

  function replaceKeepingFocus(element, html) {
    if (element.innerHTML === html) return;
    const focused = document.activeElement && element.contains(document.activeElement)
      ? document.activeElement.id : null;
    element.innerHTML = html;
    if (focused) {
      const again = document.getElementById(focused);
      if (again) again.focus();
    }
  }

  // Elements with data-live="url" are refreshed from url every data-refresh ms; the
  // server's X-Console-Refresh header changes the interval (0 stops).
  const live = [];
  function refresh(region) {
    if (region.busy) return Promise.resolve();
    region.busy = true;
    return get(region.url).then(function (response) {
      const next = response.headers.get('X-Console-Refresh');
      if (next !== null) region.every = parseInt(next, 10);
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html !== null) replaceKeepingFocus(region.element, html);
    }).catch(function () { /* the server may be restarting: try again next time */ })
      .finally(function () { region.busy = false; schedule(region); });
  }
  function schedule(region) {
    clearTimeout(region.timer);
    if (region.every > 0) {
      region.timer = setTimeout(function () {
        if (document.hidden) schedule(region); else refresh(region);
      }, region.every);
    }
  }
  document.querySelectorAll('[data-live]').forEach(function (element) {
    const region = { element: element, url: element.dataset.live,
                     every: parseInt(element.dataset.refresh || '2000', 10) };
    live.push(region);
    schedule(region);
  });
  window.consoleRefresh = function () { return Promise.all(live.map(refresh)); };

  // The manual clock: a move answers the clock's new state, then the live parts refresh.
  const clockForm = document.querySelector('form.clock');
  if (clockForm) {
    clockForm.addEventListener('submit', function (event) {
      if (!event.submitter) return;
      event.preventDefault();
      const body = new URLSearchParams({ advance: event.submitter.value, _token: token });
      const buttons = clockForm.querySelectorAll('button');
      buttons.forEach(function (b) { b.disabled = true; });
      fetch(clockForm.action, {
        method: 'POST', credentials: 'same-origin', body: body,
        headers: { 'X-Console-Token': token }
      }).then(function (r) {
        if (!r.ok) throw new Error('the clock did not move');
        return r.json();
      }).then(function (state) {
        const shown = document.getElementById('clock-now');
        shown.textContent = state.shown;
        shown.setAttribute('datetime', state.now);
        return window.consoleRefresh();
      }).catch(function () {
        // Let the server say what went wrong: the plain form post, with the chosen step.
        const step = document.createElement('input');
        step.type = 'hidden'; step.name = 'advance'; step.value = event.submitter.value;
        clockForm.appendChild(step);
        clockForm.submit();
      })
        .finally(function () { buttons.forEach(function (b) { b.disabled = false; }); });
    });
  }

  // Start deployment: the version choices follow the profile, the step preview the strategy.
  function follow(select, base, suffix, target) {
    if (!select) return;
    select.addEventListener('change', function () {
      get(base + '/' + encodeURIComponent(select.value) + suffix)
        .then(function (r) { return r.text(); })
        .then(function (html) { document.getElementById(target).innerHTML = html; });
    });
  }
  const profile = document.querySelector('select[data-options]');
  if (profile) follow(profile, profile.dataset.options, '/version-options', 'version-field');
  const strategy = document.querySelector('select[data-steps]');
  if (strategy) follow(strategy, strategy.dataset.steps, '/steps', 'steps-preview');

  // Checks as you type: the server answers {ok, message} for content or a rule.
  function checker(input, output, kind) {
    let timer = null;
    let asked = 0;
    function run() {
      const mine = ++asked;
      fetch('/console/check', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-Console-Token': token },
        body: JSON.stringify({ kind: kind(), text: input.value })
      }).then(function (r) { return r.json(); }).then(function (answer) {
        if (mine !== asked) return;
        output.textContent = answer.message || '';
        output.className = 'check ' + (answer.ok ? 'ok' : 'bad');
        if (answer.ok) input.removeAttribute('aria-invalid');
        else input.setAttribute('aria-invalid', 'true');
      }).catch(function () {});
    }
    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(run, 200);
    });
    if (input.value) run();
  }
  document.querySelectorAll('textarea[data-check-type]').forEach(function (area) {
    const type = document.getElementById(area.dataset.checkType);
    const output = document.getElementById(area.getAttribute('aria-describedby'));
    checker(area, output, function () { return 'content:' + (type ? type.value : ''); });
    if (type) type.addEventListener('change', function () { area.dispatchEvent(new Event('input')); });
  });
  document.querySelectorAll('[data-check="rule"]').forEach(function (input) {
    const output = document.getElementById(input.getAttribute('aria-describedby'));
    checker(input, output, function () { return 'rule'; });
  });

  // After an editing button redrew the form, focus lands on what it added or moved.
  const focusing = document.querySelector('form[data-focus]');
  if (focusing) {
    const target = document.getElementById(focusing.dataset.focus);
    if (target) { target.focus(); target.scrollIntoView({ block: 'center' }); }
  }
}());
