/* global document, fetch, FormData */
// The demo merchant server's settings: the credentials an MP administrator got from the console.
(function () {
  'use strict';
  var form = document.getElementById('settings');

  function showCurrent() {
    return fetch('/demo/merchant/api/shop')
      .then(function (response) {
        return response.json();
      })
      .then(function (shop) {
        document.getElementById('current').textContent = shop.configured
          ? 'Now using mini program ' +
            shop.mnpId +
            ' (merchant ' +
            shop.mchid +
            ') from ' +
            (shop.source === 'settings' ? 'these settings' : 'the demo world') +
            '.'
          : 'No credentials yet: the demo shop cannot place orders.';
      });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var saved = document.getElementById('saved');
    saved.textContent = 'Saving…';
    var body = {};
    new FormData(form).forEach(function (value, key) {
      body[key] = String(value);
    });
    fetch('/demo/merchant/api/settings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      .then(function (response) {
        return response.json().then(function (answer) {
          if (!response.ok) throw new Error(answer.message || 'HTTP ' + response.status);
          saved.textContent = 'Saved.';
          form.reset();
          return showCurrent();
        });
      })
      .catch(function (error) {
        saved.textContent = error.message;
      });
  });

  showCurrent();
})();
