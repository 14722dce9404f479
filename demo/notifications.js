/* global document, fetch, window */
// What the demo merchant server's notify_url received, newest first.
(function () {
  'use strict';
  function cell(row, text, className) {
    var element = document.createElement('td');
    if (className) element.className = className;
    element.textContent = text;
    row.appendChild(element);
    return element;
  }

  function render(notifications) {
    var body = document.getElementById('rows');
    body.innerHTML = '';
    if (notifications.length === 0) {
      var row = document.createElement('tr');
      cell(row, 'Nothing received yet.').colSpan = 7;
      body.appendChild(row);
      return;
    }
    notifications.forEach(function (notification) {
      var row = document.createElement('tr');
      var resource = notification.resource || {};
      cell(row, new Date(notification.receivedAt).toLocaleString());
      cell(row, notification.verified ? 'verified' : 'refused: ' + notification.problem, notification.verified ? 'verified' : 'refused');
      cell(row, notification.eventType || '');
      cell(row, [resource.out_trade_no, resource.out_refund_no].filter(Boolean).join(' / '));
      cell(row, resource.trade_state || resource.refund_status || '');
      var amount = resource.amount || {};
      var total = amount.refund !== undefined ? amount.refund : amount.total;
      cell(row, total !== undefined ? (total / 100).toFixed(2) + ' ' + (amount.currency || 'CNY') : '');
      var code = document.createElement('code');
      code.textContent = notification.resource ? JSON.stringify(notification.resource) : '';
      cell(row, '').appendChild(code);
      body.appendChild(row);
    });
  }

  function refresh() {
    fetch('/demo/merchant/api/notifications')
      .then(function (response) {
        return response.json();
      })
      .then(function (answer) {
        render(answer.notifications);
      })
      .catch(function () {});
  }

  fetch('/demo/merchant/api/shop')
    .then(function (response) {
      return response.json();
    })
    .then(function (shop) {
      document.getElementById('notify-url').textContent = shop.notifyUrl;
    });
  refresh();
  window.setInterval(refresh, 2000);
})();
