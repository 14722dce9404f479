/* global document, window, fetch, URL */
// The sandbox cashier: shows the order, lets the "user" pay, fail or cancel, and tells whoever opened
// it (the superapp host's requestPayment bridge) with a postMessage:
//   { source: 'paythrough-sandbox-cashier', result: 'ok' | 'fail' | 'cancel', prepayId, state }
(function () {
  'use strict';
  var token = decodeURIComponent(window.location.pathname.split('/').filter(Boolean).pop() || '');
  var api = new URL('../v1/cashier/' + encodeURIComponent(token), window.location.href).toString();
  var buttons = ['pay', 'fail', 'cancel'].map(function (id) {
    return document.getElementById(id);
  });
  var main = document.querySelector('main');

  function show(id, text) {
    document.getElementById(id).textContent = text;
  }

  function status(text, kind) {
    var element = document.getElementById('status');
    element.textContent = text;
    element.className = 'status' + (kind ? ' ' + kind : '');
  }

  function enable(enabled) {
    buttons.forEach(function (button) {
      button.disabled = !enabled;
    });
  }

  function notifyOpener(view) {
    var message = { source: 'paythrough-sandbox-cashier', result: view.result, prepayId: view.prepay_id, state: view.state };
    // The message carries no secret; the host page may live on another origin.
    if (window.opener) window.opener.postMessage(message, '*');
    if (window.parent && window.parent !== window) window.parent.postMessage(message, '*');
  }

  function render(view) {
    main.setAttribute('aria-busy', 'false');
    show('description', view.description);
    show('amount', view.amount_display);
    show('merchant', view.merchant_id);
    show('out-trade-no', view.out_trade_no);
    show('appid', view.appid);
    show('expire-time', new Date(view.expire_time).toLocaleString());
    var payable = view.state === 'WAIT_PAY' && !view.expired;
    enable(payable);
    document.getElementById('cancel').disabled = view.result !== null;
    if (view.result === 'ok') status('Payment succeeded.', 'ok');
    else if (view.result === 'fail') status('The payment failed.', 'error');
    else if (view.result === 'cancel') status('Payment cancelled.', 'error');
    else if (view.state === 'SUCCESS') status('This order is paid.', 'ok');
    else if (view.state === 'CLOSED') status('This order is closed.', 'error');
    else if (view.state === 'PAY_ERROR') status('The payment of this order failed.', 'error');
    else if (view.expired) status('This order has expired.', 'error');
    else status('', '');
    if (view.result !== null) {
      enable(false);
      notifyOpener(view);
    }
  }

  function request(method, url) {
    return fetch(url, { method: method, headers: { accept: 'application/json' }, credentials: 'omit' }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body && body.message ? body.message : 'HTTP ' + response.status);
        return body;
      });
    });
  }

  buttons.forEach(function (button) {
    button.addEventListener('click', function () {
      enable(false);
      status('Working…', '');
      request('POST', api + '/' + button.id)
        .then(render)
        .catch(function (error) {
          status(error.message, 'error');
          return request('GET', api).then(render);
        });
    });
  });

  request('GET', api)
    .then(render)
    .catch(function (error) {
      main.setAttribute('aria-busy', 'false');
      show('description', 'Order not available');
      status(error.message, 'error');
    });
})();
